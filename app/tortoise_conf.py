"""Tortoise configuration for the `tortoise` CLI.

`tortoise -c app.tortoise_conf.TORTOISE_ORM makemigrations` (or `make makemigrations`).
"""

from app.core.config import get_settings
from app.core.db import tortoise_config

TORTOISE_ORM = tortoise_config(get_settings())
