"""Tests of the local Flatpeak and Flip simulator."""
