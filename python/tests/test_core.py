# SPDX-License-Identifier: MIT
"""The binding of the library's parts: errors, models, patches, plans,
whole images."""
import os
import pickle
import threading
import time

import numpy as np
import pytest

import gmmprior
from conftest import ROOT, fixture, mnist

K, D = 6, 64


# ----------------------------------------------------------------- errors

def test_error_classes():
    assert issubclass(gmmprior.ArgumentError, ValueError)
    assert issubclass(gmmprior.OutOfMemoryError, MemoryError)
    assert issubclass(gmmprior.FileError, OSError)
    assert issubclass(gmmprior.InternalError, RuntimeError)
    assert issubclass(gmmprior.CanceledError, RuntimeError)
    for cls in (gmmprior.ArgumentError, gmmprior.OutOfMemoryError, gmmprior.FileError,
                gmmprior.InternalError, gmmprior.CanceledError):
        assert issubclass(cls, gmmprior.Error)


@pytest.mark.parametrize("code,cls", [
    (-1, ValueError), (-2, MemoryError), (-3, ValueError), (-4, ValueError),
    (-5, ValueError), (-6, ValueError), (-7, OSError), (-8, ValueError), (-9, ValueError),
    (-10, RuntimeError), (-11, gmmprior.CanceledError)])
def test_every_code_maps(code, cls):
    e = gmmprior._core.error_for(code, "msg")
    assert isinstance(e, cls) and isinstance(e, gmmprior.Error)
    assert e.code == code and e.name.startswith("GMMP_E") and str(e) == "msg"


def test_library_message_is_carried(tmp_path):
    with pytest.raises(OSError, match="No such file") as info:
        gmmprior.Model.load(tmp_path / "missing.gmmp")
    assert info.value.code == -7 and info.value.name == "GMMP_EIO"
    bad = tmp_path / "bad.gmmp"
    bad.write_bytes(b"not a model file at all, not at all")
    with pytest.raises(ValueError) as info:
        gmmprior.Model.load(bad)
    assert info.value.name in ("GMMP_EFORMAT", "GMMP_EVERSION")
    with pytest.raises(ValueError, match="component") as info:  # not SPD
        gmmprior.Model([1.0], [[0.0, 0.0]], [[[1.0, 0.0], [0.0, -1.0]]])
    assert info.value.name == "GMMP_ENOTSPD"
    with pytest.raises(ValueError) as info:
        gmmprior.Options(threads=0)
    assert "threads" in str(info.value) and info.value.name == "GMMP_EINVAL"
    # An unknown name is the same ArgumentError for set, get and bounds.
    o = gmmprior.Options()
    for call in (lambda: o.set("bogus", 1), lambda: o.get("bogus"),
                 lambda: gmmprior.Options.bounds("bogus"), lambda: gmmprior.Options(bogus=1)):
        with pytest.raises(gmmprior.ArgumentError, match="unknown option 'bogus'"):
            call()
    assert o.get("threads") == 1 and gmmprior.Options.bounds("threads") == (1, 256, True)


# ----------------------------------------------------------------- models

def test_model_roundtrip(tmp_path, mnist8_model):
    m = mnist8_model
    assert (m.n_components, m.dim, m.patch) == (K, D, None)
    w, mu, cov = m.parameters()
    np.testing.assert_array_equal(w, fixture("em_mnist8", "final_weights"))
    m2 = gmmprior.Model(w, mu, cov).set_patch(8, 8, 1, remove_mean=False)
    m2.description = "MNIST 8x8, K = 6"
    m2.save(tmp_path / "m.gmmp")
    m3 = gmmprior.Model.load(tmp_path / "m.gmmp")
    assert m3.patch == (8, 8, 1, False) and m3.description == "MNIST 8x8, K = 6"
    np.testing.assert_array_equal(m3.covariances, cov)
    m4 = pickle.loads(pickle.dumps(m3))
    assert m4.to_bytes() == m3.to_bytes()
    L = m3.cholesky
    np.testing.assert_allclose(L @ np.transpose(L, (0, 2, 1)), cov, rtol=1e-10, atol=1e-8)


def test_model_spectra(tmp_path, mnist8_model):
    w, mu, cov = mnist8_model.parameters()
    m = gmmprior.Model(w, mu, cov)
    assert m.spectra == 0
    m.spectra = 16
    m.save(tmp_path / "s.gmmp")
    raw = (tmp_path / "s.gmmp").read_bytes()
    assert (raw[8], raw[12]) == (3, 1)  # version 3, eigenpairs follow
    # docs/model-format.md: after the parameters, r and a reserved word,
    # K x r eigenvalues ascending, K x r x d eigenvectors as rows: numpy's.
    at = 56 + 8 * K * (1 + D + D * D)
    assert int.from_bytes(raw[at:at + 4], "little") == 16
    lam = np.frombuffer(raw, "<f8", K * 16, at + 8).reshape(K, 16)
    vec = np.frombuffer(raw, "<f8", K * 16 * D, at + 8 + 8 * K * 16).reshape(K, 16, D)
    ref = np.linalg.eigvalsh(cov)[:, -16:]
    np.testing.assert_allclose(lam, ref, rtol=1e-9, atol=1e-9 * ref.max())
    np.testing.assert_allclose(vec @ cov @ np.transpose(vec, (0, 2, 1)),
                               lam[:, :, None] * np.eye(16), atol=1e-8 * ref.max())
    back = gmmprior.Model.load(tmp_path / "s.gmmp")
    assert back.spectra == 16 and back.to_bytes() == raw
    for bad in (D + 1, -1):
        with pytest.raises(gmmprior.ArgumentError, match="eigenpairs per component"):
            m.spectra = bad
    m.spectra = 0
    assert m.to_bytes()[8] == 2


def test_model_scores_match_fixture(mnist8, mnist8_model):
    logpdf = mnist8_model.score_samples(mnist8)
    np.testing.assert_allclose(logpdf, fixture("em_mnist8", "final_logpdf"), rtol=1e-10)
    m = {k: v for k, v in [("bic", 12830326.958552437), ("aic", 12718441.10492683)]}
    assert mnist8_model.bic(mnist8) == pytest.approx(m["bic"], rel=1e-10)
    assert mnist8_model.aic(mnist8) == pytest.approx(m["aic"], rel=1e-10)
    X, labels = mnist8_model.sample(50, seed=3)
    assert X.shape == (50, D) and labels.shape == (50,) and labels.max() < K
    X2, _ = mnist8_model.sample(50, seed=3)
    np.testing.assert_array_equal(X, X2)


def test_patch_description(mnist8_model):
    shipped = gmmprior.Model.load(os.path.join(ROOT, "data", "models", "natural-8x8-k50.gmmp"))
    assert shipped.patch == (8, 8, 1, True) and "gmmp-train" in shipped.description
    assert shipped.spectra == 16  # fast restorations decompose nothing
    m = gmmprior.Model(*mnist8_model.parameters())  # from arrays: no description
    assert m.patch is None
    with pytest.raises(ValueError, match="patch description"):
        gmmprior.Extractor.for_model(m)
    with pytest.raises(ValueError) as info:
        m.set_patch(8, 4, 1)
    assert info.value.name == "GMMP_EDIM"
    m.set_patch(8, 8, 1, remove_mean=True)
    ex = gmmprior.Extractor.for_model(m)
    assert (ex.patch_h, ex.patch_w, ex.channels, ex.dim) == (8, 8, 1, 64)
    assert gmmprior.Model.from_bytes(m.to_bytes()).patch == (8, 8, 1, True)


# ---------------------------------------------------------------- patches

def test_extract_reconstruct_grey():
    img = mnist(1)[0]
    ex = gmmprior.Extractor(8)
    P = ex.extract(img)
    win = np.lib.stride_tricks.sliding_window_view(img, (8, 8)).reshape(-1, 64)
    np.testing.assert_array_equal(P, win)
    assert ex.count(img) == 21 * 21 and ex.positions(img.shape)[22].tolist() == [1, 1]
    P0, means = ex.extract(img, remove_mean=True)
    np.testing.assert_allclose(means[:, 0], win.mean(axis=1))
    rc = gmmprior.Reconstructor(ex, img.shape)
    rc.add(P0, means=means)
    np.testing.assert_allclose(rc.finish(), img, atol=1e-12)
    part = ex.extract(img, first=5, count=3)
    np.testing.assert_array_equal(part, P[5:8])
    S = ex.sample(img, 10, seed=1)
    assert S.shape == (10, 64) and all((s == P).all(axis=1).any() for s in S)


def test_short_shapes_and_offsets_are_refused():
    # Bounds checks are off in the binding: a shape or offset of fewer
    # than two values must be refused before it is indexed.
    ex = gmmprior.Extractor(4)
    for shape in ([5], (5,), (), np.zeros(5)):  # the last: an image's shape, (5,)
        with pytest.raises(ValueError, match="shape"):
            ex.count(shape)
        with pytest.raises(ValueError, match="shape"):
            ex.positions(shape)
        if not hasattr(shape, "shape"):
            with pytest.raises(ValueError, match="shape"):
                gmmprior.Reconstructor(ex, shape)
    for offset in ((), (1,), 3):
        with pytest.raises(ValueError, match="offset"):
            gmmprior.Extractor(4, step=2, offset=offset)
    assert ex.count(np.zeros((6, 7))) == ex.count((6, 7)) == 3 * 4


def test_extract_colour_and_strided_in_place():
    rng = np.random.default_rng(0)
    big = rng.uniform(0, 255, size=(40, 50, 3))
    crop = big[3:30, 5:41]  # a row-strided view: read in place, with its pitch
    ex = gmmprior.Extractor(4, 5, channels=3, step=2)
    P, means = ex.extract(crop, remove_mean=True)
    pos = ex.positions(crop)
    r, c = pos[7]
    want = crop[r:r + 4, c:c + 5].reshape(-1, 3)
    np.testing.assert_allclose(means[7], want.mean(axis=0))
    np.testing.assert_allclose(P[7], (want - want.mean(axis=0)).ravel())
    rc = gmmprior.Reconstructor(ex, crop.shape)
    rc.add(P, means=means)
    np.testing.assert_allclose(rc.finish(), crop, atol=1e-9)
    # same result from a copy, from float32, and from a Fortran-ordered array
    np.testing.assert_allclose(ex.extract(np.asfortranarray(crop)), ex.extract(crop.copy()))
    with pytest.raises(ValueError, match="h x w x 3"):
        ex.extract(crop[..., 0])


def test_arrays_are_read_in_place():
    # _rows must hand C-contiguous float64 arrays through untouched
    X = np.zeros((5, 3))
    assert gmmprior._core._rows(X) is X
    assert gmmprior._core._rows(X.astype(np.float32)) is not X
    img = np.zeros((10, 12))
    a, h, w, pitch = gmmprior._core._image(img[2:, 1:9], 1)
    assert a.base is img and (h, w, pitch) == (8, 8, 12)


# ------------------------------------------------------------------ plans

@pytest.mark.parametrize("name", ["post_denoise", "post_blur", "post_mask"])
def test_plan_matches_fixture(name):
    from conftest import meta
    mt = meta(name)
    d, p, n = mt["d"], mt["p"], mt["n"]
    model = gmmprior.Model(fixture(name, "weights"), fixture(name, "means", shape=(K, d)),
                           fixture(name, "covariances", shape=(K, d, d)))
    W = fixture(name, "W", shape=(p, d))
    noise = fixture(name, "noise_cov", shape=(p, p))
    b = fixture(name, "b")
    Y = fixture(name, "Y", shape=(n, p))
    if name == "post_denoise":
        plan = gmmprior.Plan.create_denoise(model, np.sqrt(noise[0, 0]))
    elif name == "post_mask":
        plan = gmmprior.Plan(model, np.diag(noise).copy(), W=W, b=b)
    else:
        plan = gmmprior.Plan(model, noise, W=W, b=b, method="cholesky")
    assert (plan.n_components, plan.dim, plan.obs_dim) == (K, d, p)
    post = plan.execute(Y)
    np.testing.assert_allclose(post.resp, fixture(name, "resp", shape=(n, K)), atol=1e-8)
    np.testing.assert_allclose(post.log_evidence, fixture(name, "log_evidence"), rtol=1e-9)
    np.testing.assert_allclose(post.mmse, fixture(name, "mmse", shape=(n, d)), rtol=1e-7,
                               atol=1e-6)
    np.testing.assert_allclose(post.map, fixture(name, "map", shape=(n, d)), rtol=1e-7,
                               atol=1e-6)
    pc = fixture(name, "post_covariances", shape=(K, d, d))
    np.testing.assert_allclose(plan.posterior_cov(2), pc[2], rtol=1e-6, atol=1e-6)
    pm = fixture(name, "post_means", shape=(K, n, d))
    np.testing.assert_allclose(plan.component_means(3, Y), pm[3], rtol=1e-7, atol=1e-6)
    only = plan.execute(Y, resp=False, log_evidence=False, map=False)
    assert only.resp is None and only.map is None
    np.testing.assert_array_equal(only.mmse, post.mmse)


def test_plan_noise_kinds_agree():
    # sigma^2 as a scalar, as d variances and as a d x d covariance: one plan.
    name = "post_mask"
    d = 64
    model = gmmprior.Model(fixture(name, "weights"), fixture(name, "means", shape=(K, d)),
                           fixture(name, "covariances", shape=(K, d, d)))
    Y = np.random.default_rng(2).normal(100, 50, size=(20, d))
    ref = gmmprior.Plan.create_denoise(model, 20.0).execute(Y)
    for noise in (400.0, np.float64(400.0), np.full(d, 400.0), 400.0 * np.eye(d)):
        got = gmmprior.Plan(model, noise).execute(Y)
        np.testing.assert_allclose(got.mmse, ref.mmse, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(got.resp, ref.resp, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="variance"):
        gmmprior.Plan(model, np.full(3, 400.0))


def test_plan_masked_equals_selection():
    name = "post_mask"
    from conftest import meta
    d = 64
    model = gmmprior.Model(fixture(name, "weights"), fixture(name, "means", shape=(K, d)),
                           fixture(name, "covariances", shape=(K, d, d)))
    plan = gmmprior.Plan.create_denoise(model, 20.0)
    rng = np.random.default_rng(1)
    Y = rng.normal(100, 50, size=(30, d))
    mask = np.ones((30, d), dtype=bool)
    full = plan.execute(Y)
    masked = plan.execute_masked(Y, mask)
    np.testing.assert_allclose(masked.mmse, full.mmse, rtol=1e-8, atol=1e-8)
    mask[:, :10] = False
    Y[:, :10] = np.nan
    out = plan.execute_masked(Y, mask)
    assert np.isfinite(out.mmse).all()
    # Any nonzero value is "observed", whatever the mask's type.
    for other in (mask.astype(int) * 256, mask * 0.5, np.asfortranarray(mask)):
        np.testing.assert_array_equal(plan.execute_masked(Y, other).mmse, out.mmse)
    with pytest.raises(ValueError, match="(?i)nan|finite") as info:
        plan.execute(Y)
    assert info.value.name == "GMMP_ENONFINITE"


# ------------------------------------------------------------ whole images

def test_denoise_image_matches_parts(mnist8_model):
    m = gmmprior.Model(*mnist8_model.parameters()).set_patch(8, 8)
    rng = np.random.default_rng(2)
    clean = mnist(1)[0]
    noisy = clean + rng.normal(0, 20, clean.shape)
    out = gmmprior.denoise_image(m, noisy, 20.0)
    ex = gmmprior.Extractor.for_model(m)
    plan = gmmprior.Plan.create_denoise(m, 20.0)
    rc = gmmprior.Reconstructor(ex, noisy.shape)
    rc.add(plan.execute(ex.extract(noisy), resp=False, log_evidence=False, map=False).mmse)
    np.testing.assert_allclose(out, rc.finish(), rtol=1e-9, atol=1e-9)
    assert np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2)
    np.testing.assert_allclose(gmmprior.restore_image(plan, noisy), out, rtol=1e-9, atol=1e-9)
    mp = gmmprior.denoise_image(m, noisy, 20.0, estimator="map", step=2, batch=7)
    assert mp.shape == noisy.shape
    with pytest.raises(ValueError, match="patch description"):
        gmmprior.denoise_image(mnist8_model, noisy, 20.0)


def test_progress_cancel_and_exceptions(mnist8_model):
    m = gmmprior.Model(*mnist8_model.parameters()).set_patch(8, 8)
    img = np.tile(mnist(1)[0], (2, 2))
    seen = []
    gmmprior.denoise_image(m, img, 20.0, batch=100, progress=lambda p: seen.append(p))
    assert seen and seen[-1].phase == "image" and seen[-1].done == seen[-1].total
    with pytest.raises(gmmprior.CanceledError) as info:
        gmmprior.denoise_image(m, img, 20.0, batch=100, progress=lambda p: True)
    assert info.value.code == -11

    def boom(p):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        gmmprior.denoise_image(m, img, 20.0, batch=100, progress=boom)


def test_epll_and_fast_plans():
    natural = gmmprior.Model.load(os.path.join(ROOT, "data", "models", "natural-8x8-k50.gmmp"))
    img = _read_pgm(os.path.join(ROOT, "data", "images", "camera.pgm"))[100:164, 180:244]
    rng = np.random.default_rng(4)
    noisy = img + rng.normal(0, 20, img.shape)
    mse = lambda a: np.mean((a - img) ** 2)
    one = gmmprior.denoise_image(natural, noisy, 20.0)
    epll = gmmprior.epll_image(natural, noisy, 20.0, steps=3, step=2, seed=1)
    assert mse(epll) < mse(noisy) / 3 and mse(one) < mse(noisy) / 3
    # EM adaptation to the image (GMMP_OPT_EPLL_ADAPT): here, on the
    # camera-man crop, it restores better than the prior as it is.
    adapted = gmmprior.epll_image(natural, noisy, 20.0, steps=3, step=2, seed=1, adapt=1)
    assert mse(adapted) < mse(epll)
    # ... or once within the steps (GMMP_OPT_EPLL_ADAPT_AFTER).
    within = gmmprior.epll_image(natural, noisy, 20.0, steps=3, step=2, seed=1, adapt_after=1)
    assert mse(within) < mse(epll)
    with pytest.raises(gmmprior.ArgumentError, match="epll_adapt_after"):
        gmmprior.epll_image(natural, noisy, 20.0, adapt_after=65)
    # The last step on a grid of its own (GMMP_OPT_EPLL_LAST_GRID): the
    # grid of the others is no change, another is, and none may exceed
    # the 8x8 patch.
    same = gmmprior.epll_image(natural, noisy, 20.0, steps=3, step=2, seed=1, last_grid=2)
    assert np.array_equal(same, epll)
    last = gmmprior.epll_image(natural, noisy, 20.0, steps=3, step=2, seed=1, last_grid=3)
    assert not np.array_equal(last, epll) and mse(last) < mse(noisy) / 3
    with pytest.raises(gmmprior.ArgumentError, match="last step's grid 9"):
        gmmprior.epll_image(natural, noisy, 20.0, last_grid=9)
    with pytest.raises(gmmprior.ArgumentError):
        gmmprior.epll_image(natural, noisy, 20.0, adapt=9)
    mask = rng.uniform(size=img.shape) > 0.3
    holes = np.where(mask, img, np.nan)
    filled = gmmprior.epll_image(natural, holes, 1.0, observed=mask, steps=3)
    assert np.isfinite(filled).all() and mse(filled) < np.mean((img - img.mean()) ** 2) / 4
    np.testing.assert_array_equal(
        gmmprior.epll_image(natural, holes, 1.0, observed=mask.astype(int) * 256, steps=3), filled)
    exact = gmmprior.Plan.create_denoise(natural, 20.0)
    flat = gmmprior.Plan.create_denoise(natural, 20.0, rank=16)
    P = gmmprior.Extractor.for_model(natural).extract(noisy, count=200, remove_mean=True)[0]
    a, b = exact.execute(P).mmse, flat.execute(P).mmse
    assert np.mean((a - b) ** 2) < 0.1 * np.mean((a - P) ** 2)


def _detail_basis(img, tile):
    """The PCA colour basis as gmmp_epll_channels defines it, with numpy:
    deviations from tile means, eigenvectors strongest first, each signed
    to a positive sum."""
    h, w, C = img.shape
    cov = np.zeros((C, C))
    for r in range(0, h, tile):
        for c in range(0, w, tile):
            t = img[r:r + tile, c:c + tile].reshape(-1, C)
            if len(t) >= 2:
                d = t - t.mean(axis=0)
                cov += d.T @ d
    lam, vec = np.linalg.eigh(cov)
    basis = vec[:, ::-1].T
    return basis * np.sign(basis.sum(axis=1))[:, None]


def test_colour_with_a_grey_prior():
    natural = gmmprior.Model.load(os.path.join(ROOT, "data", "models", "natural-8x8-k50.gmmp"))
    cam = _read_pgm(os.path.join(ROOT, "data", "images", "camera.pgm"))
    a, b = cam[100:148, 180:236], cam[20:68, 40:96]
    clean = np.stack([a, 0.8 * a + 0.2 * b, 0.5 * a + 0.4 * b + 20], axis=-1)
    rng = np.random.default_rng(6)
    noisy = clean + rng.normal(0, 20, clean.shape)
    got = gmmprior.epll_image(natural, noisy, 20.0, steps=2, step=2, seed=3)
    assert got.shape == clean.shape
    assert np.mean((got - clean) ** 2) < np.mean((noisy - clean) ** 2) / 3
    # The same by hand: into the basis, each channel as a grey image with
    # its own seed, back by the transpose.
    for name in ("pca", "opponent", "identity"):
        if name == "pca":
            U = _detail_basis(noisy, 8)
        elif name == "opponent":
            U = np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]]) / np.sqrt([[3], [2], [6]])
        else:
            U = np.eye(3)
        z = noisy @ U.T
        planes = [gmmprior.epll_image(natural, np.ascontiguousarray(z[..., c]), 20.0, steps=2,
                                      step=2, seed=3 + c) for c in range(3)]
        ref = np.stack(planes, axis=-1) @ U
        out = gmmprior.epll_image(natural, noisy, 20.0, steps=2, step=2, seed=3,
                                  colour_basis=name)
        np.testing.assert_allclose(out, ref, atol=1e-8, rtol=0, err_msg=name)
    with pytest.raises(ValueError, match="colour_basis"):
        gmmprior.epll_image(natural, noisy, 20.0, colour_basis="yuv")
    # A colour prior does not take a grey image.
    colour = gmmprior.Model.load(os.path.join(ROOT, "data", "models", "natural-rgb-8x8.gmmp"))
    with pytest.raises(ValueError, match="x 3"):
        gmmprior.epll_image(colour, a, 20.0)


def _group_refine_reference(noisy, pilot, sigma, P, N, S, step):
    """gmmp_group_refine_image's definition with numpy (weight 1): groups
    by a sort of all distances in the window, the group's pilot
    covariance, the noisy mean, a dense solve."""
    from numpy.lib.stride_tricks import sliding_window_view
    H, W, C = noisy.shape
    Y = sliding_window_view(noisy, (P, P), axis=(0, 1)).reshape(H - P + 1, W - P + 1, -1)
    B = sliding_window_view(pilot, (P, P), axis=(0, 1)).reshape(H - P + 1, W - P + 1, -1)
    h, w, d = Y.shape
    grid = lambda n: sorted(set(list(range(0, n, step)) + [n - 1]))  # noqa: E731
    num, den = np.zeros((H, W, C)), np.zeros((H, W))
    for i in grid(h):
        for j in grid(w):
            i0, i1, j0, j1 = max(0, i - S), min(h, i + S + 1), max(0, j - S), min(w, j + S + 1)
            dist = np.sum((B[i0:i1, j0:j1].reshape(-1, d) - B[i, j]) ** 2, axis=1)
            r, c = np.divmod(np.arange(dist.size), j1 - j0)
            r, c = r + i0, c + j0
            # ties: nearer the reference, then the earlier row and column
            idx = np.lexsort((c, r, (r - i) ** 2 + (c - j) ** 2, dist))[:N]
            gi, gj = r[idx], c[idx]
            G = Y[gi, gj]
            cov = np.cov(B[gi, gj], rowvar=False)
            est = G.mean(0) + np.linalg.solve(cov + sigma ** 2 * np.eye(d),
                                              cov @ (G - G.mean(0)).T).T
            for t in range(len(gi)):
                num[gi[t]:gi[t] + P, gj[t]:gj[t] + P] += np.moveaxis(
                    est[t].reshape(C, P, P), 0, -1)
                den[gi[t]:gi[t] + P, gj[t]:gj[t] + P] += 1
    return num / den[:, :, None]


def test_group_refine_image():
    rng = np.random.default_rng(8)
    clean = np.cumsum(rng.normal(0, 6, (26, 31, 3)), axis=1)
    noisy = clean + rng.normal(0, 15, clean.shape)
    pilot = clean + rng.normal(0, 2, clean.shape)
    # Channel-major patches in the reference: the order of a patch's values
    # changes neither distances nor posterior means.
    want = _group_refine_reference(noisy, pilot, 15.0, 4, 25, 5, 3)
    got = gmmprior.group_refine_image(noisy, pilot, 15.0, weight=1.0, patch=4, group=25,
                                      search=5, step=3, threads=2)
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)
    half = gmmprior.group_refine_image(noisy, pilot, 15.0, weight=0.5, patch=4, group=25,
                                       search=5)
    np.testing.assert_allclose(half, 0.5 * want + 0.5 * pilot, atol=1e-9, rtol=0)
    grey = gmmprior.group_refine_image(noisy[..., 0], pilot[..., 0], 15.0, weight=0.5, patch=3,
                                       group=12, search=4, step=2)
    np.testing.assert_allclose(
        grey, 0.5 * _group_refine_reference(noisy[..., :1], pilot[..., :1], 15.0, 3, 12, 4,
                                            2)[..., 0] + 0.5 * pilot[..., 0], atol=1e-9, rtol=0)
    # Threads and OpenBLAS kept serial while they run: the same result.
    serial = gmmprior.group_refine_image(noisy, pilot, 15.0, weight=1.0, patch=4, group=25,
                                         search=5, step=3, threads=2, blas_serial=True)
    np.testing.assert_allclose(serial, got, atol=1e-9, rtol=0)
    with pytest.raises(gmmprior.ArgumentError, match="shape"):
        gmmprior.group_refine_image(noisy, pilot[:, :-1], 15.0)
    with pytest.raises(gmmprior.ArgumentError):
        gmmprior.group_refine_image(noisy, pilot, 15.0, weight=2.0)
    with pytest.raises(gmmprior.ArgumentError, match="GMMP_OPT_GROUP_PATCH"):
        gmmprior.group_refine_image(noisy[:3], pilot[:3], 15.0, patch=5)
    with pytest.raises(gmmprior.CanceledError):
        gmmprior.group_refine_image(noisy, pilot, 15.0, progress=lambda p: True)


def test_estimate_noise():
    rng = np.random.default_rng(3)
    from conftest import ROOT
    img = _read_pgm(os.path.join(ROOT, "data", "images", "camera.pgm"))[:200, :200]
    sigma = gmmprior.estimate_noise(img + rng.normal(0, 15, img.shape))
    assert 13 < sigma < 17
    colour = np.stack([img, img[::-1], img[:, ::-1]], axis=2) + rng.normal(0, 10, img.shape + (3,))
    assert 8 < gmmprior.estimate_noise(colour) < 12


def test_gil_released(mnist8, mnist8_model):
    """A pure-Python thread keeps running while the library scores in the
    main thread. With the GIL held through a call, it could only run in
    the few milliseconds after the call returns (the interpreter's switch
    interval); released, it runs throughout: count the distinct 10 ms
    slots, within the calls, in which it ran."""
    X = np.tile(mnist8, (4, 1))
    stamps = []
    done = threading.Event()

    def spin():
        while not done.is_set():
            stamps.append(time.perf_counter())
            for _ in range(200):
                pass
    t = threading.Thread(target=spin)
    t.start()
    windows = []
    try:
        time.sleep(0.01)
        for _ in range(2):
            t0 = time.perf_counter()
            mnist8_model.score_samples(X)
            windows.append((t0, time.perf_counter()))
    finally:
        done.set()
        t.join()
    slots = {int(s / 0.01) for s in stamps if any(a <= s <= b for a, b in windows)}
    span = sum(b - a for a, b in windows)
    assert len(slots) >= max(4, 0.1 * span / 0.01), (len(slots), span)


def _read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    fields = data.split(maxsplit=4)
    assert fields[0] == b"P5"
    w, h, maxval = int(fields[1]), int(fields[2]), int(fields[3])
    return np.frombuffer(fields[4][: w * h], np.uint8).reshape(h, w).astype(float)
