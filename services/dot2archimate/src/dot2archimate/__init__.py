"""dot2archimate: DOT and terraform graphs to valid, laid-out ArchiMate 3.2 models."""
