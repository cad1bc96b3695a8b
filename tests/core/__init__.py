"""Tests of the foundation (`app.core`) and the composition root."""
