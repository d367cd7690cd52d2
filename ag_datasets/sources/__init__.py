"""Readers for the source datasets: each yields source rows in a common, typed form."""
