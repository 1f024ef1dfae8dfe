# SPDX-License-Identifier: MIT
"""gmmprior: Gaussian-mixture patch priors for image restoration
(libgmmprior's Python package; tutorial in docs/python.md).

- GaussianMixture: scikit-learn's GaussianMixture(covariance_type="full"),
  fitted by the C library.
- Model, Extractor, Reconstructor, Plan: the library's four parts.
- denoise_image, restore_image, epll_image, estimate_noise: whole images
  in one call.
- Error and its subclasses: the library's error codes as exceptions.
"""
from ._core import (
    ArgumentError,
    CanceledError,
    Error,
    Extractor,
    FileError,
    FitInfo,
    InternalError,
    Model,
    Options,
    OutOfMemoryError,
    Plan,
    Posterior,
    Progress,
    Reconstructor,
    __version__,
    denoise_image,
    epll_image,
    estimate_noise,
    fit,
    group_refine_image,
    restore_image,
)
from ._mixture import GaussianMixture

__all__ = [
    "ArgumentError", "CanceledError", "Error", "Extractor", "FileError", "FitInfo",
    "GaussianMixture", "InternalError", "Model", "Options", "OutOfMemoryError", "Plan",
    "Posterior", "Progress", "Reconstructor", "__version__", "denoise_image",
    "epll_image", "estimate_noise", "fit", "group_refine_image", "restore_image",
]
