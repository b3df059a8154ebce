"""Memorization profiles of SimCLR, supervised and random-label training (companion paper 2).

modes        the four training modes and their augmentations
views        weak (pad-crop, flip) and strong (SimCLR + gaussian blur) augmentation, batched
simclr       NT-Xent over the 2B-1 in-batch candidates
recognition  which (network, augmentation) pairs recognise an example; p_t(x), p_t(x~)
binomial     sorted profiles against sorted binomial noise (MAE, chi-square; trials N and N*M),
             its calibration on independent coins, epoch alignment
trainer      training one network of one mode, recording recognition after every epoch (the reference)
wide         N independent networks as one wide network (empirical.wide_network)
batched      the N networks of one mode trained as one batch, each exactly as `trainer` trains it alone
run          N networks x M augmentations x epochs -> one netCDF (a status per (method, seed) cell;
             tasks in-process or on an executor the caller passes: local processes, Dask)
tsne         scikit-learn's Barnes-Hut t-SNE for appendix C.1
actmax       activation maximisation in pixel space (appendix C.2)
plots        figures 1-4 and appendix C
"""
