"""Tests for browser_env.web: Chromium and egress."""
