# SPDX-License-Identifier: MIT
"""gmmprior.GaussianMixture against scikit-learn's reference results."""
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import gmmprior
from conftest import fixture, meta

sklearn = pytest.importorskip("sklearn")
from sklearn.mixture import GaussianMixture as SkGM  # noqa: E402


def problem(name, X):
    mt = meta(name)
    K, d = mt["K"], mt["d"]
    stage = lambda s: (fixture(name, s + "_weights"), fixture(name, s + "_means", shape=(K, d)),
                       fixture(name, s + "_covariances", shape=(K, d, d)))
    return mt, K, d, stage


@pytest.fixture(scope="module")
def blobs():
    return fixture("em_blobs", "X", shape=(3000, 16))


def init_kwargs(stage):
    w, m, c = stage("init")
    return dict(weights_init=w, means_init=m, precisions_init=np.linalg.inv(c))


def close(a, b, tol=1e-8):
    """|a - b| <= tol * max(1, |b|), elementwise: 1e-8 relative to the scale."""
    a, b = np.asarray(a), np.asarray(b)
    err = np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))
    assert err <= tol, "max scaled difference %.3g > %.3g" % (err, tol)


@pytest.mark.parametrize("name", ["em_blobs", "em_mnist8"])
@pytest.mark.parametrize("stage_name,max_iter,tol", [("after1", 1, 0.0), ("after10", 10, 0.0),
                                                     ("final", 1000, 1e-10)])
def test_parity_with_fixtures(name, stage_name, max_iter, tol, blobs, mnist8):
    X = blobs if name == "em_blobs" else mnist8
    mt, K, d, stage = problem(name, X)
    gm = gmmprior.GaussianMixture(K, max_iter=max_iter, tol=tol, **init_kwargs(stage))
    gm.skip = 0.0  # scikit-learn's exact sums (the default skips r <= 1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    w, m, c = stage(stage_name)
    close(gm.weights_, w)
    close(gm.means_, m)
    close(gm.covariances_, c)
    assert gm.n_iter_ == mt[stage_name + "_n_iter"]
    close(gm.lower_bound_, mt[stage_name + "_lower_bound"], 1e-10)
    close(gm.score(X), mt[stage_name + "_score"], 1e-10)
    if stage_name == "final":
        assert gm.converged_
        close(gm.score_samples(X), fixture(name, "final_logpdf"))
        close(gm.bic(X), mt["final_bic"], 1e-10)
        close(gm.aic(X), mt["final_aic"], 1e-10)


@pytest.mark.parametrize("name", ["em_blobs", "em_mnist8"])
def test_single_precision_within_its_tolerance(name, blobs, mnist8):
    """precision = "single" (docs/math.md): after 10 iterations the
    parameters within 1e-5 of each array's scale and the lower bound
    within 1e-7 relative of scikit-learn's; a bad value is refused."""
    X = blobs if name == "em_blobs" else mnist8
    mt, K, d, stage = problem(name, X)
    gm = gmmprior.GaussianMixture(K, max_iter=10, tol=0.0, **init_kwargs(stage))
    gm.precision = "single"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    for got, want in zip((gm.weights_, gm.means_, gm.covariances_), stage("after10")):
        assert np.max(np.abs(got - want)) <= 1e-5 * np.max(np.abs(want))
    lb = mt["after10_lower_bound"]
    assert abs(gm.lower_bound_ - lb) <= 1e-7 * abs(lb)
    gm.precision = "half"
    with pytest.raises(ValueError, match="precision"):
        gm.fit(X)


@pytest.mark.parametrize("name", ["em_blobs", "em_mnist8"])
def test_default_skip_within_1e8_of_scale(name, blobs, mnist8):
    """With the library's default skip (1e-12), parameters still agree with
    scikit-learn's to 1e-8 of each array's scale."""
    X = blobs if name == "em_blobs" else mnist8
    mt, K, d, stage = problem(name, X)
    gm = gmmprior.GaussianMixture(K, max_iter=10, tol=0.0, **init_kwargs(stage))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    for got, want in zip((gm.weights_, gm.means_, gm.covariances_), stage("after10")):
        assert np.max(np.abs(got - want)) <= 1e-8 * np.max(np.abs(want))


def test_parity_with_sklearn_live(blobs):
    """Same initial parameters -> same fit, all attributes and methods."""
    mt, K, d, stage = problem("em_blobs", blobs)
    kw = dict(n_components=K, max_iter=5, tol=0.0, random_state=3, **init_kwargs(stage))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = gmmprior.GaussianMixture(**kw)
        ours.skip = 0.0
        ours.fit(blobs)
        ref = SkGM(**kw).fit(blobs)
    for attr in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
                 "lower_bound_"):
        close(getattr(ours, attr), getattr(ref, attr))
    assert ours.n_iter_ == ref.n_iter_ and ours.converged_ == ref.converged_
    close(ours.predict_proba(blobs), ref.predict_proba(blobs))
    np.testing.assert_array_equal(ours.predict(blobs), ref.predict(blobs))
    close(ours.score_samples(blobs), ref.score_samples(blobs))
    Xs, ys = ours.sample(20)
    Xr, yr = ref.sample(20)
    close(Xs, Xr)
    np.testing.assert_array_equal(ys, yr)


@pytest.mark.parametrize("init", ["kmeans", "random", "k-means++", "random_from_data"])
def test_init_methods(init, blobs):
    gm = gmmprior.GaussianMixture(4, init_params=init, random_state=0, n_init=2, tol=1e-6,
                                  max_iter=500)
    labels = gm.fit_predict(blobs)
    assert gm.converged_ and labels.shape == (3000,)
    np.testing.assert_array_equal(labels, gm.predict(blobs))
    ref = SkGM(4, init_params=init, random_state=0, n_init=2, tol=1e-6, max_iter=500).fit(blobs)
    # different random starts may reach different optima; on these blobs, the same one
    assert gm.score(blobs) == pytest.approx(ref.score(blobs), abs=1e-3)
    again = gmmprior.GaussianMixture(4, init_params=init, random_state=0, n_init=2, tol=1e-6,
                                     max_iter=500).fit(blobs)
    np.testing.assert_array_equal(again.means_, gm.means_)


@pytest.mark.parametrize("init", ["random", "k-means++", "random_from_data"])
def test_same_start_as_sklearn(init, blobs):
    """The init_params computed in Python start where scikit-learn starts."""
    kw = dict(n_components=4, init_params=init, random_state=7, max_iter=3, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = gmmprior.GaussianMixture(**kw).fit(blobs)
        ref = SkGM(**kw).fit(blobs)
    close(ours.means_, ref.means_)
    close(ours.covariances_, ref.covariances_)


def test_partial_init_and_max_iter_zero(blobs):
    mt, K, d, stage = problem("em_blobs", blobs)
    w, m, c = stage("init")
    # (scikit-learn 1.2 itself fails with max_iter=0 and precisions_init)
    for kw in (dict(means_init=m), dict(max_iter=0, weights_init=w, means_init=m)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = gmmprior.GaussianMixture(K, random_state=0, init_params="random", **kw)
            ref = SkGM(K, random_state=0, init_params="random", **kw)
            ours.fit(blobs)
            ref.fit(blobs)
        close(ours.means_, ref.means_, 1e-6)
        assert ours.n_iter_ == ref.n_iter_


def test_warm_start_matches_sklearn(blobs):
    mt, K, d, stage = problem("em_blobs", blobs)
    kw = dict(n_components=K, max_iter=2, tol=1e-10, warm_start=True, **init_kwargs(stage))
    ours, ref = gmmprior.GaussianMixture(**kw), SkGM(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            ours.fit(blobs)
            ref.fit(blobs)
            close(ours.means_, ref.means_)
            assert (ours.n_iter_, ours.converged_) == (ref.n_iter_, ref.converged_)


def test_verbose_and_errors(blobs, capsys):
    gmmprior.GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(blobs[:300])
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 1\t time lapse" in out
    assert "Initialization converged: True" in out
    for ct in ("tied", "diag", "spherical"):
        with pytest.raises(ValueError, match="full covariances only"):
            gmmprior.GaussianMixture(2, covariance_type=ct).fit(blobs)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        gmmprior.GaussianMixture(5).fit(blobs[:4])
    with pytest.raises(ValueError):
        gmmprior.GaussianMixture(2).fit(np.full((10, 2), np.nan))


def test_pickle_and_model_export(blobs, tmp_path):
    gm = gmmprior.GaussianMixture(3, random_state=1).fit(blobs)
    gm2 = pickle.loads(pickle.dumps(gm))
    np.testing.assert_array_equal(gm2.score_samples(blobs), gm.score_samples(blobs))
    model = gm.gmmp_model()
    np.testing.assert_array_equal(model.means, gm.means_)
    model.save(tmp_path / "gm.gmmp")
    assert gmmprior.Model.load(tmp_path / "gm.gmmp").n_components == 3
    # replaced attributes are honoured, as in scikit-learn
    gm.means_ = gm.means_ + 1.0
    assert gm.score(blobs) != gm2.score(blobs)


def test_without_sklearn():
    """The package works when scikit-learn cannot be imported."""
    code = r"""
import sys
sys.modules["sklearn"] = None
import numpy as np, gmmprior, gmmprior._mixture as mx
assert not mx.HAVE_SKLEARN
X = np.random.RandomState(0).normal(size=(500, 3))
X[:250] += 6
gm = gmmprior.GaussianMixture(2, random_state=0).fit(X)
assert gm.converged_ and gm.get_params()["n_components"] == 2
assert gm.set_params(n_components=3).n_components == 3
print(sorted(np.round(gm.weights_, 2)), repr(gm))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert "[0.5, 0.5]" in out.stdout
