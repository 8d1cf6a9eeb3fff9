"""Fixtures for the hde emulator and client tests."""
