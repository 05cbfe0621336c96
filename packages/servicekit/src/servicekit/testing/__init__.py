"""The pytest plugin of servicekit (fixtures that start real servers from `servicekit.local`)."""
