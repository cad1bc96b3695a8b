"""Settlement: one statement per merchant per business day, its life cycle and its file."""
