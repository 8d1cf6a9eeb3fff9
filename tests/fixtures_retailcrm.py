"""Fixtures for the retailcrm emulator and client tests."""
