"""Tests of the Flatpeak integration, its API clients and the sandbox."""
