"""The fleet runner: `flotilla up` starts everything `make up` promises."""
