"""Tests of billpay."""
