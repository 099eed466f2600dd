"""Tests for the agent package."""
