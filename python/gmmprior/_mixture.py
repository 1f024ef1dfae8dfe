# SPDX-License-Identifier: MIT
"""gmmprior.GaussianMixture: scikit-learn's GaussianMixture with full
covariances, fitted by libgmmprior's trainer (docs/python.md)."""
import sys
import time
import warnings
from numbers import Integral, Real

import numpy as np

from . import _core

try:  # scikit-learn is optional: with it, the estimator is a real sklearn estimator
    from sklearn.base import BaseEstimator, DensityMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    from sklearn.mixture import GaussianMixture as _SkGaussianMixture
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_is_fitted

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised by test_without_sklearn
    HAVE_SKLEARN = False
    import inspect

    class ConvergenceWarning(UserWarning):
        """EM stopped at max_iter without converging."""

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before fit()."""

    def check_random_state(seed):
        if seed is None or seed is np.random:
            return np.random.mtrand._rand
        if isinstance(seed, Integral):
            return np.random.RandomState(seed)
        if isinstance(seed, np.random.RandomState):
            return seed
        raise ValueError("%r cannot be used to seed a numpy.random.RandomState instance"
                         % (seed,))

    def check_is_fitted(estimator):
        if not hasattr(estimator, "means_"):
            raise NotFittedError("This %s instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator."
                                 % type(estimator).__name__)

    class BaseEstimator:
        """get_params/set_params as scikit-learn's, from __init__'s signature."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError("Invalid parameter %r for estimator %s. Valid parameters"
                                     " are: %s." % (key, self, valid))
                setattr(self, key, value)
            return self

        def __repr__(self):
            defaults = inspect.signature(type(self).__init__).parameters
            args = ["%s=%r" % (k, v) for k, v in self.get_params().items()
                    if not (k in defaults and defaults[k].default is v
                            or (isinstance(v, (int, float, str))
                                and defaults[k].default == v))]
            return "%s(%s)" % (type(self).__name__, ", ".join(args))

    class DensityMixin:
        _estimator_type = "DensityEstimator"

        def score(self, X, y=None):
            raise NotImplementedError


# init_params the library computes itself: "kmeans" (GMMP_INIT_KMEANS).
# The library's GMMP_INIT_RANDOM (K samples as means, the data's
# covariance, equal weights) is not scikit-learn's "random" (uniform random
# responsibilities), so "random" is computed here as scikit-learn does.
_INIT_IN_C = {"kmeans": 0}


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM in libgmmprior: a drop-in for
    ``sklearn.mixture.GaussianMixture`` with ``covariance_type="full"``.

    Same parameters, defaults, fitted attributes and methods as
    scikit-learn 1.2's; see its documentation. Differences:

    - covariance_type other than "full" raises ValueError at fit().
    - init_params "kmeans" runs in the library (k-means++ seeded Lloyd)
      with a seed drawn from random_state, so its initial parameters differ
      from scikit-learn's for the same random_state; "random",
      "k-means++" and "random_from_data" are computed as scikit-learn
      computes them (same random_state, same start; "k-means++" needs
      scikit-learn). From the same initial parameters the fits agree to
      1e-8.
    - X is converted once to C-contiguous float64 unless it already is
      (float32 data is fitted in float64).
    - ``skip`` (attribute, default None: the library's GMMP_OPT_SKIP,
      1e-12): responsibilities at or below it are left out of the M-step's
      moments, which saves much of the M-step when responsibilities are
      nearly hard (1.6 against 3.1 s per iteration on the reference
      workload) and changes the parameters by about 1e-11 of their scale
      (small covariance entries by up to 2e-8 of themselves). ``skip = 0.0``
      gives scikit-learn's exact sums.
    - ``n_threads`` (attribute, default 1): threads of the library's own
      (GMMP_OPT_THREADS); ``blas_serial`` (default False): make OpenBLAS
      single-threaded while they run (GMMP_OPT_BLAS_SERIAL: process-wide
      state, so off unless asked). BLAS threads are otherwise numpy's.
    - ``precision`` (attribute, default "double"): "single" runs the
      E-step's whitening in float for every component where that is
      accurate enough (GMMP_OPT_PRECISION; docs/math.md), about twice as
      fast, with lower bounds within about 1e-8 relative of double's.
    """

    #: GMMP_OPT_SKIP for fits (None: the library's 1e-12; 0: scikit-learn's exact sums).
    skip = None
    #: GMMP_OPT_THREADS for fits (OpenBLAS's own threads are separate).
    n_threads = 1
    #: GMMP_OPT_BLAS_SERIAL for fits.
    blas_serial = False
    #: GMMP_OPT_PRECISION for fits: "double" or "single".
    precision = "double"

    if HAVE_SKLEARN:
        _parameter_constraints = dict(_SkGaussianMixture._parameter_constraints)

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6,
                 max_iter=100, n_init=1, init_params="kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None, warm_start=False,
                 verbose=0, verbose_interval=10):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ------------------------------------------------------------ checks

    def _check_params(self):
        if HAVE_SKLEARN:
            self._validate_params()
        else:
            def need(ok, what):
                if not ok:
                    raise ValueError("The '%s' parameter of GaussianMixture must be %s."
                                     % (what[0], what[1]))
            need(isinstance(self.n_components, Integral) and self.n_components >= 1,
                 ("n_components", "an int in the range [1, inf)"))
            need(isinstance(self.tol, Real) and self.tol >= 0, ("tol", "a float >= 0"))
            need(isinstance(self.reg_covar, Real) and self.reg_covar >= 0,
                 ("reg_covar", "a float >= 0"))
            need(isinstance(self.max_iter, Integral) and self.max_iter >= 0,
                 ("max_iter", "an int in the range [0, inf)"))
            need(isinstance(self.n_init, Integral) and self.n_init >= 1,
                 ("n_init", "an int in the range [1, inf)"))
            need(self.init_params in ("kmeans", "random", "random_from_data", "k-means++"),
                 ("init_params", "a str among {'kmeans', 'random', 'random_from_data', "
                                 "'k-means++'}"))
            need(self.covariance_type in ("full", "tied", "diag", "spherical"),
                 ("covariance_type", "a str among {'full', 'tied', 'diag', 'spherical'}"))
            need(isinstance(self.verbose_interval, Integral) and self.verbose_interval >= 1,
                 ("verbose_interval", "an int in the range [1, inf)"))
        if self.covariance_type != "full":
            raise ValueError(
                "gmmprior.GaussianMixture fits full covariances only "
                "(covariance_type='full'), got covariance_type=%r; use "
                "sklearn.mixture.GaussianMixture for 'tied', 'diag' or 'spherical'"
                % (self.covariance_type,))

    def _check_X(self, X, reset):
        if HAVE_SKLEARN:
            if reset:
                return self._validate_data(X, dtype=np.float64, ensure_min_samples=2)
            return self._validate_data(X, dtype=np.float64, reset=False)
        if hasattr(X, "toarray"):
            raise TypeError("A sparse matrix was passed, but dense data is required.")
        X = np.asarray(X)
        if np.iscomplexobj(X):
            raise ValueError("Complex data not supported")
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError("Expected 2D array, got %dD array instead" % X.ndim)
        if not np.isfinite(X).all():
            raise ValueError("Input X contains NaN or infinity.")
        if reset:
            if X.shape[0] < 2:
                raise ValueError("Found array with %d sample(s) while a minimum of 2 is "
                                 "required." % X.shape[0])
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError("X has %d features, but GaussianMixture is expecting %d "
                             "features as input." % (X.shape[1], self.n_features_in_))
        return X

    def _check_inits(self, d):
        K = self.n_components
        w = m = p = None
        if self.weights_init is not None:
            w = np.array(self.weights_init, dtype=np.float64)
            if w.shape != (K,):
                raise ValueError("The parameter 'weights' should have the shape of (%d,), "
                                 "but got %s" % (K, w.shape))
            if (w < 0).any() or (w > 1).any():
                raise ValueError("The parameter 'weights' should be in the range [0, 1]")
            if not np.allclose(np.abs(1.0 - np.sum(w)), 0.0):
                raise ValueError("The parameter 'weights' should be normalized, but got "
                                 "sum(weights) = %.5f" % np.sum(w))
        if self.means_init is not None:
            m = np.array(self.means_init, dtype=np.float64)
            if m.shape != (K, d):
                raise ValueError("The parameter 'means' should have the shape of %s, but got"
                                 " %s" % ((K, d), m.shape))
        if self.precisions_init is not None:
            p = np.array(self.precisions_init, dtype=np.float64)
            if p.shape != (K, d, d):
                raise ValueError("The parameter 'full precision' should have the shape of "
                                 "%s, but got %s" % ((K, d, d), p.shape))
            for prec in p:
                if not (np.allclose(prec, prec.T) and np.all(np.linalg.eigvalsh(prec) > 0)):
                    raise ValueError("'full precision' should be symmetric, "
                                     "positive-definite")
        return w, m, p

    # ------------------------------------------------------- initialisation

    def _initial_resp(self, X, rs):
        """The initial responsibilities, as scikit-learn computes them."""
        n, K = X.shape[0], self.n_components
        if self.init_params == "kmeans":
            if not HAVE_SKLEARN:
                raise ValueError("init_params='kmeans' with only some of weights_init, "
                                 "means_init, precisions_init (or max_iter=0) needs "
                                 "scikit-learn's KMeans; give all three, or use "
                                 "init_params='random' or 'random_from_data'")
            from sklearn.cluster import KMeans
            labels = KMeans(n_clusters=K, n_init=1, random_state=rs).fit(X).labels_
            resp = np.zeros((n, K))
            resp[np.arange(n), labels] = 1
        elif self.init_params == "random":
            resp = rs.uniform(size=(n, K))
            resp /= resp.sum(axis=1)[:, np.newaxis]
        elif self.init_params == "random_from_data":
            resp = np.zeros((n, K))
            resp[rs.choice(n, size=K, replace=False), np.arange(K)] = 1
        else:  # k-means++
            if not HAVE_SKLEARN:
                raise ValueError("init_params='k-means++' needs scikit-learn's "
                                 "kmeans_plusplus; use 'kmeans', 'random' or "
                                 "'random_from_data'")
            from sklearn.cluster import kmeans_plusplus
            _, idx = kmeans_plusplus(X, K, random_state=rs)
            resp = np.zeros((n, K))
            resp[idx, np.arange(K)] = 1
        return resp

    def _initial_params(self, X, rs, inits):
        """(weights, means, covariances) as scikit-learn's _initialize."""
        w0, m0, p0 = inits
        resp = self._initial_resp(X, rs)
        nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
        means = resp.T @ X / nk[:, np.newaxis]
        K, d = means.shape
        cov = np.empty((K, d, d))
        for k in range(K):
            diff = X - means[k]
            cov[k] = (resp[:, k] * diff.T) @ diff / nk[k]
            cov[k].flat[:: d + 1] += self.reg_covar
        weights = nk / X.shape[0]
        if w0 is not None:
            weights = w0
        if m0 is not None:
            means = m0
        if p0 is not None:
            cov = np.linalg.inv(p0)
        return weights, means, cov

    @staticmethod
    def _model(weights, means, covariances):
        w = np.asarray(weights, dtype=np.float64)
        covariances = np.asarray(covariances, dtype=np.float64)
        # the library wants exactly symmetric covariances and weights summing to 1
        covariances = 0.5 * (covariances + np.transpose(covariances, (0, 2, 1)))
        return _core.Model(w / w.sum(), means, covariances)

    # ------------------------------------------------------------- fitting

    def _progress(self):
        """The progress callback that prints scikit-learn's verbose lines."""
        if not self.verbose:
            return None
        state = {"init": None, "t_init": 0.0, "t_iter": 0.0, "change": np.inf, "ll": np.nan}

        def end_init():
            converged = abs(state["change"]) < self.tol
            if self.verbose == 1:
                print("Initialization converged: %s" % converged)
            else:
                print("Initialization converged: %s\t time lapse %.5fs\t ll %.5f"
                      % (converged, time.time() - state["t_init"], state["ll"]))

        def progress(p):
            if p.init != state["init"]:
                if state["init"] is not None:
                    end_init()
                state.update(init=p.init, t_init=time.time(), t_iter=time.time(),
                             change=np.inf)
                print("Initialization %d" % p.init)
            if p.phase == "em":
                state["change"], state["ll"] = p.change, p.mean_loglik
                if p.iteration % self.verbose_interval == 0:
                    if self.verbose == 1:
                        print("  Iteration %d" % p.iteration)
                    else:
                        now = time.time()
                        print("  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                              % (p.iteration, now - state["t_iter"], p.change))
                        state["t_iter"] = now
            sys.stdout.flush()
            return False

        progress.end = lambda: state["init"] is not None and end_init()
        return progress

    def _train(self, X, init_model=None, **options):
        if self.precision not in ("double", "single"):
            raise ValueError("precision must be 'double' or 'single', not %r"
                             % (self.precision,))
        opts = dict(tol=self.tol, reg_covar=self.reg_covar, skip=self.skip,
                    threads=self.n_threads, blas_serial=int(bool(self.blas_serial)),
                    precision=int(self.precision == "single"))
        opts.update(options)
        progress = self._progress()
        model, info = _core.fit(X, self.n_components, init_model=init_model,
                                progress=progress, **opts)
        if progress is not None:
            progress.end()
        return model, info

    def fit(self, X, y=None):
        """Estimates the parameters by EM (n_init runs, the best lower bound
        kept). Returns self."""
        self._fit(X)
        return self

    def fit_predict(self, X, y=None):
        """fit(X), then the most probable component of each sample."""
        X = self._fit(X)
        return self._predict_model().predict_proba(X).argmax(axis=1)

    def _fit(self, X):
        self._check_params()
        X = self._check_X(X, reset=True)
        n, d = X.shape
        K = self.n_components
        if n < K:
            raise ValueError("Expected n_samples >= n_components but got n_components = %d, "
                             "n_samples = %d" % (K, n))
        inits = self._check_inits(d)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        rs = check_random_state(self.random_state)
        max_iter = self.max_iter

        best = None  # (lower_bound, model, info)
        converged = False
        if not do_init:
            # Warm start: continue from the fitted parameters. scikit-learn
            # compares its first iteration's bound with the previous fit's
            # lower_bound_; the library cannot, so that check is done here.
            model = self._predict_model()
            if max_iter == 0:
                best = (-np.inf, model, None)
            else:
                first = model.score(X)
                if abs(first - self.lower_bound_) < self.tol:
                    max_iter = 1
                model, info = self._train(X, model, max_iter=max_iter, n_init=1)
                converged = info.converged or abs(first - self.lower_bound_) < self.tol
                best = (info.mean_loglik, model, info)
        elif (all(v is not None for v in inits) and max_iter > 0):
            w, m, p = inits
            model = self._model(w, m, np.linalg.inv(p))
            model, info = self._train(X, model, max_iter=max_iter, n_init=1)
            converged = info.converged
            best = (info.mean_loglik, model, info)
        elif (self.init_params in _INIT_IN_C and all(v is None for v in inits)
              and max_iter > 0):
            model, info = self._train(X, None, max_iter=max_iter, n_init=n_init,
                                      init=_INIT_IN_C[self.init_params],
                                      seed=int(rs.randint(np.iinfo(np.int32).max)))
            converged = info.converged
            best = (info.mean_loglik, model, info)
        else:
            for _ in range(n_init):
                model = self._model(*self._initial_params(X, rs, inits))
                if max_iter == 0:
                    if best is None:
                        best = (-np.inf, model, None)
                    continue
                model, info = self._train(X, model, max_iter=max_iter, n_init=1)
                converged = converged or info.converged
                if best is None or info.mean_loglik > best[0] or best[0] == -np.inf:
                    best = (info.mean_loglik, model, info)

        self.converged_ = bool(converged)
        if not converged and self.max_iter > 0:
            warnings.warn("Initialization %d did not converge. Try different init parameters,"
                          " or increase max_iter, tol or check for degenerate data." % n_init,
                          ConvergenceWarning)
        lower_bound, model, info = best
        self._set_model(model)
        self.n_iter_ = 0 if info is None else info.n_iter
        self.lower_bound_ = lower_bound
        return X

    def _set_model(self, model):
        w, m, c = model.parameters()
        L = model.cholesky
        d = m.shape[1]
        eye = np.eye(d)
        try:
            from scipy.linalg import solve_triangular
            pc = np.array([solve_triangular(Lk, eye, lower=True).T for Lk in L])
        except ImportError:  # pragma: no cover
            pc = np.array([np.linalg.inv(Lk).T for Lk in L])
        self.weights_, self.means_, self.covariances_ = w, m, c
        self.precisions_cholesky_ = pc
        self.precisions_ = np.array([p @ p.T for p in pc])
        self._gmmp_model = model
        self._gmmp_key = (id(w), id(m), id(c))

    def _predict_model(self):
        """The library model of the fitted attributes: the one fit() made,
        or a new one when weights_, means_ or covariances_ were replaced."""
        check_is_fitted(self)
        model = self.__dict__.get("_gmmp_model")
        if model is not None and self._gmmp_key == (id(self.weights_), id(self.means_),
                                                    id(self.covariances_)):
            return model
        return self._model(self.weights_, self.means_, self.covariances_)

    def __getstate__(self):
        state = (super().__getstate__() if hasattr(super(), "__getstate__")
                 else self.__dict__.copy())
        state = dict(state)
        state.pop("_gmmp_model", None)
        state.pop("_gmmp_key", None)
        return state

    def __setstate__(self, state):
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:  # pragma: no cover
            self.__dict__.update(state)
        if "covariances_" in self.__dict__:
            self._gmmp_model = self._model(self.weights_, self.means_, self.covariances_)
            self._gmmp_key = (id(self.weights_), id(self.means_), id(self.covariances_))

    # ------------------------------------------------------------ scoring

    def gmmp_model(self):
        """The fitted mixture as a gmmprior.Model (for posterior plans,
        saving to a model file)."""
        return self._predict_model()

    def score_samples(self, X):
        """log p(x_i) for each sample."""
        model = self._predict_model()
        return model.score_samples(self._check_X(X, reset=False))

    def score(self, X, y=None):
        """Mean log-likelihood per sample."""
        model = self._predict_model()
        return model.score(self._check_X(X, reset=False))

    def predict(self, X):
        """The most probable component of each sample."""
        return self.predict_proba(X).argmax(axis=1)

    def predict_proba(self, X):
        """Responsibilities p(k|x_i), n x K."""
        model = self._predict_model()
        return model.predict_proba(self._check_X(X, reset=False))

    def _n_parameters(self):
        K, d = self.means_.shape
        return int(K * d * (d + 1) / 2 + K * d + K - 1)

    def bic(self, X):
        """Bayesian information criterion on X."""
        model = self._predict_model()
        return model.bic(self._check_X(X, reset=False))

    def aic(self, X):
        """Akaike information criterion on X."""
        model = self._predict_model()
        return model.aic(self._check_X(X, reset=False))

    def sample(self, n_samples=1):
        """(X, y): n_samples drawn as scikit-learn draws them (same
        random_state, same samples)."""
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError("Invalid value for 'n_samples': %d . The sampling requires at "
                             "least one sample." % (self.n_components))
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        X = np.vstack([rng.multivariate_normal(mean, cov, int(c))
                       for mean, cov, c in zip(self.means_, self.covariances_, counts)])
        y = np.concatenate([np.full(c, j, dtype=int) for j, c in enumerate(counts)])
        return X, y
