"""Tests for browser_env.text: the pure text browser."""
