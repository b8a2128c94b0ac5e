"""Package data: the bundled AMI capture for `hotline serve --replay`, demo knowledge-base articles."""
