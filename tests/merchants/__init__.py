"""Tests of merchants."""
