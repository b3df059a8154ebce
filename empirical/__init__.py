"""Section 4 of the paper on real data: datasets, device-side augmentation, networks, random-label training, probing."""
