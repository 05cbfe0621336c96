"""SpotOn domain core: detection, tracking, re-identification, evaluation, scenes, geometry."""
