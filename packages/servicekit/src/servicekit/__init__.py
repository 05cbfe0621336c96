"""Flotilla servicekit."""
