"""Unit tests of the pure pickup domain and the local courier gateway (no IO)."""
