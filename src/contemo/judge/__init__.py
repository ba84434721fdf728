"""The independent judge: a pretrained FER2013 expression classifier, in one place.

* `keras_port` - the mini-Xception network and its Keras HDF5 weights, read into PyTorch;
* `model` - `Judge`: faces in [-1, 1] -> class probabilities, a VA proxy and features;
* `scores` - scoring a folder of faces (any layout) into rows and a summary;
* `report` - the results as CSV, JSON and a terminal table;
* `plot` - the judge's VA scatter and confusion matrix;
* `port_check` - the port checked against outputs of the original Keras model.

`contemo evaluate judge` (contemo.commands.evaluate_judge) drives it; sweeps, identity
and quality load it through contemo.evaluation.scorers.
"""
