"""Tests for browser_env.miniweb: corpus readers, the index and the server."""
