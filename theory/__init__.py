"""Pure maths and the Gaussian-mixture toy of appendix E: no torchvision, no file I/O."""
