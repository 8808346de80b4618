"""The Flatpeak integration: charging schedules and tariff status from Flatpeak."""
