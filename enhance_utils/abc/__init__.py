"""The automated ABC scores of chapter 03: the paper's asymmetry, border and colour algorithms.

The contract between the modules:

* :mod:`~enhance_utils.abc.core`: the shared vocabulary (features, modes, default
  parameters, the six reference colours, :class:`~enhance_utils.abc.core.Result` and
  :class:`~enhance_utils.abc.core.Skip`);
* :mod:`~enhance_utils.abc.reference`: the **oracle**, plain code to read, one module per
  feature; every algorithm also returns its intermediate steps in a typed result (the
  ``*_steps`` functions), which is what :mod:`~enhance_utils.abc.figures` draws;
* :mod:`~enhance_utils.abc.fast`: the same outputs, bit for bit, many times faster; the
  tests check it against the oracle on a sample, ``benchmarks/bench_automated_abc.py
  --oracle`` on every mask and image of both datasets;
* :mod:`~enhance_utils.abc.lesions`: which lesions and files a dataset has, and chapter 03's
  examples and recomputed sample;
* :mod:`~enhance_utils.abc.inputs`: decoding a mask or an image and the one input-check path
  (:class:`~enhance_utils.abc.inputs.InputError` for unusable files);
* :mod:`~enhance_utils.abc.runner`: files to rows (implementation choice, process pool, CSV
  I/O) with :mod:`~enhance_utils.abc.cache` keeping each row;
* :mod:`~enhance_utils.abc.comparison`: a run against the published CSVs, and the committed
  agreement on every lesion.

Nothing is imported here, so that ``import enhance_utils.abc.lesions`` stays light.
"""
