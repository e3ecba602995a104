"""Parameter table -> model matrices (LISREL "all-y" form) -> implied moments and derivatives.

    eta   = alpha + B eta + zeta,        Cov(zeta) = Psi
    y     = nu + Lambda eta + epsilon,   Cov(epsilon) = Theta
    Sigma = Lambda A Psi A' Lambda' + Theta,  mu = nu + Lambda A alpha,  A = (I - B)^-1

Observed variables that take part in regressions (``~``) are carried by a phantom latent
variable (loading 1, residual variance 0), as lavaan does, so every regression lives in B.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from connection.errors import ModelSpecificationError
from connection.latent.partable import ParameterTable

__all__ = ["ModelStructure", "Implied", "Aggregator"]


class Aggregator:
    """Sums row-level quantities into parameters (rows sharing a free index are summed).

    When every parameter has exactly one row this is a permutation (a cheap gather);
    otherwise a one-hot matrix ``M`` (rows x parameters): ``M' x`` and ``M' X M``.
    """

    def __init__(self, k: np.ndarray, q: int):
        k = np.asarray(k, dtype=int)
        self.q = q
        self.perm = None
        if len(k) == q and len(np.unique(k)) == q:
            self.perm = np.argsort(k)
            self.mesh = np.ix_(self.perm, self.perm)
        else:
            self.onehot = np.zeros((len(k), q))
            self.onehot[np.arange(len(k)), k] = 1.0

    def vec(self, x: np.ndarray) -> np.ndarray:
        return x[self.perm] if self.perm is not None else x @ self.onehot

    def mat(self, x: np.ndarray) -> np.ndarray:
        if self.perm is not None:
            return x[self.mesh]
        return self.onehot.T @ x @ self.onehot

    def rows(self, x: np.ndarray) -> np.ndarray:
        """(n x rows) -> (n x parameters)."""
        return x[:, self.perm] if self.perm is not None else x @ self.onehot

_MATS = ("L", "B", "P", "T", "nu", "al")


@dataclass
class Implied:
    """Model-implied moments of one group (and the pieces needed for derivatives)."""

    sigma: np.ndarray
    mu: np.ndarray
    L: np.ndarray
    B: np.ndarray
    P: np.ndarray
    T: np.ndarray
    nu: np.ndarray
    al: np.ndarray
    A: np.ndarray
    LA: np.ndarray
    C: np.ndarray  # total latent covariance A Psi A'
    H: np.ndarray  # Lambda C
    ea: np.ndarray  # latent means A alpha


class ModelStructure:
    """Where every parameter-table row lives in the model matrices of its group."""

    def __init__(self, pt: ParameterTable):
        self.pt = pt
        frame = pt.frame
        self.ov_names = list(pt.ov_names)
        self.lv_names = list(pt.lv_names)
        # thresholds ("|") and the scales of ordinal indicators ("~*~") are not in the matrices
        rows = frame[~frame["op"].isin((":=", "|", "~*~"))]
        in_regression = set(rows.loc[rows["op"] == "~", "lhs"]) | set(
            rows.loc[rows["op"] == "~", "rhs"])
        lvset = set(self.lv_names)
        self.phantoms = [v for v in self.ov_names if v in in_regression]
        self.eta_names = self.lv_names + self.phantoms
        self.p = len(self.ov_names)
        self.m = len(self.eta_names)
        self.ngroups = pt.ngroups
        self.npar = pt.npar
        ov_pos = {v: i for i, v in enumerate(self.ov_names)}
        eta_pos = {v: i for i, v in enumerate(self.eta_names)}
        phantom = set(self.phantoms)

        def latent_level(v):
            return v in lvset or v in phantom

        mats, ii, jj = [], [], []
        for lhs, op, rhs in zip(rows["lhs"], rows["op"], rows["rhs"]):
            if op == "=~":
                if latent_level(rhs):
                    mats.append("B"), ii.append(eta_pos[rhs]), jj.append(eta_pos[lhs])
                else:
                    mats.append("L"), ii.append(ov_pos[rhs]), jj.append(eta_pos[lhs])
            elif op == "~":
                if lhs not in eta_pos or rhs not in eta_pos:
                    raise ModelSpecificationError(f"cannot place regression {lhs} ~ {rhs}")
                mats.append("B"), ii.append(eta_pos[lhs]), jj.append(eta_pos[rhs])
            elif op == "~~":
                a, b = latent_level(lhs), latent_level(rhs)
                if a and b:
                    i, j = eta_pos[lhs], eta_pos[rhs]
                    mats.append("P"), ii.append(max(i, j)), jj.append(min(i, j))
                elif not a and not b:
                    i, j = ov_pos[lhs], ov_pos[rhs]
                    mats.append("T"), ii.append(max(i, j)), jj.append(min(i, j))
                else:
                    raise ModelSpecificationError(
                        f"covariance {lhs} ~~ {rhs} between a latent-level variable and an "
                        "indicator's residual is not supported",
                        hint="model it through a regression or a phantom latent variable")
            elif op == "~1":
                if latent_level(lhs):
                    mats.append("al"), ii.append(eta_pos[lhs]), jj.append(0)
                else:
                    mats.append("nu"), ii.append(ov_pos[lhs]), jj.append(0)
            else:  # pragma: no cover - parser rejects other operators
                raise ModelSpecificationError(f"unsupported operator {op!r}")
        self.row_index = rows.index.to_numpy()
        self.mat = np.array(mats, dtype=object)
        self.i = np.array(ii, dtype=int)
        self.j = np.array(jj, dtype=int)
        self.group = rows["group"].to_numpy(dtype=int)
        self.free = rows["free"].to_numpy(dtype=int) - 1  # -1 = fixed
        self.phantom_ov = np.array([ov_pos[v] for v in self.phantoms], dtype=int)
        self.phantom_eta = np.array([eta_pos[v] for v in self.phantoms], dtype=int)
        self.has_B = bool(np.any(self.mat == "B"))
        self._cache: dict = {}
        # ordinal indicators (delta parameterization): their latent responses have variance 1,
        # their residual variances are what the factors leave (rows ``unit_rows``, per group)
        ordered = set(getattr(pt, "ordered", ()) or ())
        if getattr(pt, "parameterization", "delta") == "theta":
            ordered = set()  # theta: the residual variances are parameters
        self.unit_diag = np.array([ov_pos[v] for v in self.ov_names if v in ordered], dtype=int)
        # conditional.x: the variance of 1 is that given the covariates (their positions)
        self.cond_x = (np.array([ov_pos[v] for v in pt.ov_x], dtype=int)
                       if getattr(pt, "conditional_x", False) and pt.ov_x else None)
        self.unit_rows = [np.array([r for r, (m_, i_, j_, g_) in enumerate(zip(
            self.mat, self.i, self.j, self.group)) if m_ == "T" and i_ == j_ and g_ == g
            and i_ in set(self.unit_diag.tolist())], dtype=int)
            for g in range(1, self.ngroups + 1)]
        # per group, per matrix: (positions in rows, i, j, free index)
        self.blocks = []
        for g in range(1, self.ngroups + 1):
            block = {}
            for name in _MATS:
                sel = np.flatnonzero((self.group == g) & (self.mat == name))
                block[name] = (sel, self.i[sel], self.j[sel], self.free[sel])
            self.blocks.append(block)

    # ------------------------------------------------------------------ values
    def row_values(self, theta: np.ndarray, fixed_values: np.ndarray) -> np.ndarray:
        """Value of every (non-defined) row: theta for free rows, the fixed value otherwise."""
        vals = fixed_values.copy()
        freemask = self.free >= 0
        vals[freemask] = theta[self.free[freemask]]
        return vals

    def complete_values(self, values: np.ndarray, implied) -> np.ndarray:
        """``values`` with the residual variances of ordinal indicators (delta
        parameterization) set to what the model leaves them (from ``implied``, per group)."""
        if not len(self.unit_diag):
            return values
        values = values.copy()
        for g, rows in enumerate(self.unit_rows):
            values[rows] = np.diag(implied[g].T)[self.i[rows]]
        return values

    def complete_ordinal_outcomes(self, values: np.ndarray, implied: list) -> tuple:
        """An ordinal observed variable regressed on others (delta parameterization) is
        carried by a phantom latent variable whose variance row is fixed at 1, while the
        implied Theta holds ``1 - total`` (negative) so that its latent response has variance
        1. The residual variance lavaan reports, ``1 - R-squared``, is their sum: for a phantom
        that predicts nothing (moving the sum leaves every implied moment unchanged) the row
        takes the sum, Psi and the covariance of the latent variables gain it and Theta drops
        it (the admissibility checks then read the real residual). Returns both completed."""
        if not len(self.unit_diag) or not len(self.phantom_ov):
            return values, implied
        unit = set(self.unit_diag.tolist())
        predictors = set(self.j[self.mat == "B"].tolist())
        pairs = [(d, e) for d, e in zip(self.phantom_ov.tolist(), self.phantom_eta.tolist())
                 if d in unit and e not in predictors]
        if not pairs:
            return values, implied
        values = values.copy()
        out = []
        for g, imp in enumerate(implied):
            P, T, C = imp.P.copy(), imp.T.copy(), imp.C.copy()
            for d, e in pairs:
                t = T[d, d]
                P[e, e] += t
                C[e, e] += t
                T[d, d] = 0.0
                rows = np.flatnonzero((self.group == g + 1) & (self.mat == "P")
                                      & (self.i == e) & (self.j == e))
                values[rows] = P[e, e]
            out.append(replace(imp, P=P, T=T, C=C, H=imp.L @ C))
        return values, out

    def _fill_plan(self, g: int):
        """Flat positions of every row's value in one buffer holding L, B, P, T, nu, alpha
        (symmetric P/T off-diagonals twice), and the buffer's constant part (cached)."""
        key = ("fill", g)
        plan = self._cache.get(key)
        if plan is not None:
            return plan
        p, m = self.p, self.m
        sizes = {"L": (p, m), "B": (m, m), "P": (m, m), "T": (p, p), "nu": (p,), "al": (m,)}
        offsets, start = {}, 0
        for name in _MATS:
            offsets[name] = start
            start += int(np.prod(sizes[name]))
        template = np.zeros(start)
        if len(self.phantom_ov):
            template[offsets["L"] + self.phantom_ov * m + self.phantom_eta] = 1.0
        blk = self.blocks[g]
        src, dest = [], []
        for name in _MATS:
            sel, i, j, _ = blk[name]
            ncol = sizes[name][1] if len(sizes[name]) == 2 else 1
            src.append(sel)
            dest.append(offsets[name] + i * ncol + (j if ncol > 1 else 0))
            if name in ("P", "T"):
                off = i != j
                src.append(sel[off])
                dest.append(offsets[name] + j[off] * ncol + i[off])
        src = np.concatenate(src).astype(int)
        dest = np.concatenate(dest).astype(int)
        views = {name: (offsets[name], offsets[name] + int(np.prod(sizes[name])), sizes[name])
                 for name in _MATS}
        plan = (template, src, dest, views, np.eye(m))
        self._cache[key] = plan
        return plan

    def matrices(self, g: int, values: np.ndarray):
        template, src, dest, views, _ = self._fill_plan(g)
        buf = template.copy()
        buf[dest] = values[src]
        return tuple(buf[a:b].reshape(shape) for a, b, shape in
                     (views[name] for name in _MATS))

    def implied(self, g: int, values: np.ndarray) -> Implied:
        L, B, P, T, nu, al = self.matrices(g, values)
        if self.has_B:
            A = np.linalg.inv(np.eye(self.m) - B)
            LA = L @ A
            C = A @ P @ A.T
            ea = A @ al
        else:
            A = self._fill_plan(g)[4]  # the identity (shared, read-only)
            LA = L
            C = P
            ea = al
        H = L @ C
        sigma = H @ L.T + T if not self.has_B else LA @ P @ LA.T + T
        sigma = 0.5 * (sigma + sigma.T)
        if len(self.unit_diag):  # delta parameterization: latent responses of variance 1
            d = self.unit_diag
            target = 1.0
            if self.cond_x is not None:  # 1 + what the covariates explain
                x = self.cond_x
                syx = sigma[np.ix_(d, x)]
                target = 1.0 + np.sum(syx * np.linalg.solve(sigma[np.ix_(x, x)], syx.T).T,
                                      axis=1)
            T = T.copy()
            T[d, d] += target - sigma[d, d]
            sigma[d, d] = target
        mu = nu + LA @ al
        return Implied(sigma, mu, L, B, P, T, nu, al, A, LA, C, H, ea)

    # ------------------------------------------------------------------ derivatives
    def _lowrank_plan(self, g: int, means: bool) -> dict:
        """Static part of :meth:`lowrank` for one group (cached)."""
        key = ("lowrank", g, means)
        plan = self._cache.get(key)
        if plan is not None:
            return plan
        p = self.p
        blk = self.blocks[g]
        parts = {}
        order = ["L", "B", "P", "T"] + (["nu", "al"] if means else [])
        start = 0
        ks = []
        for name in order:
            _, i, j, k = blk[name]
            f = k >= 0
            parts[name] = (slice(start, start + int(f.sum())), i[f], j[f])
            ks.append(k[f])
            start += int(f.sum())
        R = start
        k = np.concatenate(ks) if ks else np.zeros(0, dtype=int)
        q = self.npar
        onehot = Aggregator(k, q)
        ta, tb = np.zeros((p, R)), np.zeros((p, R))
        tm = np.zeros((p, R)) if means else None
        sl, i, j = parts["L"]
        ta[i, np.arange(sl.start, sl.stop)] = 1.0
        sl, i, j = parts["T"]
        cols = np.arange(sl.start, sl.stop)
        ta[i, cols] = 1.0
        tb[j, cols] = np.where(i == j, 0.5, 1.0)
        if means:
            sl, i, _ = parts["nu"]
            tm[i, np.arange(sl.start, sl.stop)] = 1.0
        sl, i, j = parts["P"]
        plan = dict(parts=parts, k=k, q=q, onehot=onehot, ta=ta, tb=tb, tm=tm,
                    cP=np.where(i == j, 0.5, 1.0), L_cols=np.arange(*parts["L"][0].indices(R)[:2]))
        self._cache[key] = plan
        return plan

    def lowrank(self, g: int, imp: Implied, *, means: bool):
        """Jacobian in low-rank form: for each free row r, dSigma = a_r b_r' + b_r a_r' and
        dmu = m_r; returns (A, B, M, k, q, onehot) with A, B, M of shape (p, R), k the free
        index of each row and ``onehot`` (R x q) its indicator matrix."""
        plan = self._lowrank_plan(g, means)
        parts = plan["parts"]
        LA, H, ea = imp.LA, imp.H, imp.ea
        a = plan["ta"].copy()
        b = plan["tb"].copy()
        sl, i, j = parts["L"]
        b[:, sl] = H[:, j]
        sl, i, j = parts["B"]
        if len(i):
            a[:, sl] = LA[:, i]
            b[:, sl] = H[:, j]
        sl, i, j = parts["P"]
        if len(i):
            a[:, sl] = LA[:, i]
            b[:, sl] = LA[:, j] * plan["cP"]
        m = None
        if means:
            m = plan["tm"].copy()
            sl, i, j = parts["L"]
            if len(i):
                m[i, plan["L_cols"]] = ea[j]
            sl, i, j = parts["B"]
            if len(i):
                m[:, sl] = LA[:, i] * ea[j]
            sl, i, _ = parts["al"]
            if len(i):
                m[:, sl] = LA[:, i]
        return a, b, m, plan["k"], plan["q"], plan["onehot"]

    def derivatives(self, g: int, imp: Implied, *, means: bool, blk=None, q=None):
        """Jacobian of Sigma (q x p x p, symmetric) and mu (q x p) w.r.t. the free parameters.

        ``blk``/``q`` may describe other directions (e.g. parameters not in the model, for
        modification indices): a dict matrix -> (rows, i, j, index) as in ``self.blocks``.
        """
        q = self.npar if q is None else q
        p = self.p
        N = np.zeros((q, p, p))
        dmu = np.zeros((q, p)) if means else None
        blk = self.blocks[g] if blk is None else blk
        LA, H, ea = imp.LA, imp.H, imp.ea
        _, i, j, k = blk["L"]
        f = k >= 0
        if f.any():
            i, j, k = i[f], j[f], k[f]
            np.add.at(N, (k, i), H[:, j].T)
            if means:
                np.add.at(dmu, (k, i), ea[j])
        _, i, j, k = blk["B"]
        f = k >= 0
        if f.any():
            i, j, k = i[f], j[f], k[f]
            np.add.at(N, k, LA[:, i].T[:, :, None] * H[:, j].T[:, None, :])
            if means:
                np.add.at(dmu, k, LA[:, i].T * ea[j][:, None])
        _, i, j, k = blk["P"]
        f = k >= 0
        if f.any():
            i, j, k = i[f], j[f], k[f]
            c = np.where(i == j, 0.5, 1.0)
            np.add.at(N, k, c[:, None, None] * LA[:, i].T[:, :, None] * LA[:, j].T[:, None, :])
        _, i, j, k = blk["T"]
        f = k >= 0
        if f.any():
            i, j, k = i[f], j[f], k[f]
            c = np.where(i == j, 0.5, 1.0)
            np.add.at(N, (k, i, j), c)
        if means:
            _, i, _, k = blk["nu"]
            f = k >= 0
            if f.any():
                np.add.at(dmu, (k[f], i[f]), 1.0)
            _, i, _, k = blk["al"]
            f = k >= 0
            if f.any():
                np.add.at(dmu, k[f], LA[:, i[f]].T)
        dsigma = N + N.transpose(0, 2, 1)
        return dsigma, dmu


def _entries(blk, name, symmetric=False):
    """Free entries of one matrix (i, j, k); symmetric off-diagonals expand to both entries."""
    _, i, j, k = blk[name]
    f = k >= 0
    i, j, k = i[f], j[f], k[f]
    if symmetric:
        off = i != j
        i, j, k = np.concatenate([i, j[off]]), np.concatenate([j, i[off]]), np.concatenate(
            [k, k[off]])
    return i, j, k



def _second_plan(struct: ModelStructure, g: int, means: bool) -> dict:
    key = ("second", g, means)
    plan = struct._cache.get(key)
    if plan is not None:
        return plan
    blk = struct.blocks[g]
    Li, Lj, Lk = _entries(blk, "L")
    Pa, Pb, Pk = _entries(blk, "P", symmetric=True)
    Bi, Bj, Bk = _entries(blk, "B")
    ai, _, ak = _entries(blk, "al") if means else (np.zeros(0, int),) * 3
    nL, nP, nB, nA = len(Lk), len(Pk), len(Bk), len(ak)
    R = nL + nP + nB + nA
    k = np.concatenate([Lk, Pk, Bk, ak]).astype(int)
    onehot = Aggregator(k, struct.npar)
    sL = slice(0, nL)
    sP = slice(nL, nL + nP)
    sB = slice(nL + nP, nL + nP + nB)
    sA = slice(nL + nP + nB, R)
    ix = np.ix_
    plan = dict(R=R, onehot=onehot, sL=sL, sP=sP, sB=sB, sA=sA, nL=nL, nP=nP, nB=nB, nA=nA,
                Li=Li, Lj=Lj, Pa=Pa, Pb=Pb, Bi=Bi, Bj=Bj, ai=ai,
                LiLi=ix(Li, Li), LjLj=ix(Lj, Lj), LiPb=ix(Li, Pb), LjPa=ix(Lj, Pa),
                LiPa=ix(Li, Pa), LjPb=ix(Lj, Pb), LiBi=ix(Li, Bi), LjBj=ix(Lj, Bj),
                LiBj=ix(Li, Bj), LjBi=ix(Lj, Bi), BjPa=ix(Bj, Pa), BiPb=ix(Bi, Pb),
                PaBi=ix(Pa, Bi), BjPb=ix(Bj, Pb), BjBi=ix(Bj, Bi), BjBj=ix(Bj, Bj),
                BiBi=ix(Bi, Bi), Ljai=ix(Lj, ai), Bjai=ix(Bj, ai))
    struct._cache[key] = plan
    return plan


def second_order_term(struct: ModelStructure, g: int, imp: Implied, w: np.ndarray,
                      r: np.ndarray | None) -> np.ndarray:
    """sum_ij W_ij d2Sigma_ij/dtheta_k dtheta_l - 2 r' d2mu/dtheta_k dtheta_l (q x q).

    Sigma = L A P A' L' + T is bilinear in (L, P) and rational in B; T, nu are linear and
    alpha enters mu linearly, so only the L/B/P (and alpha, for the means) blocks appear.
    Blocks are assembled over matrix entries (symmetric Psi entries counted twice) and then
    summed into parameters with a one-hot matrix.
    """
    plan = _second_plan(struct, g, r is not None)
    R = plan["R"]
    if R == 0:
        return np.zeros((struct.npar, struct.npar))
    X = np.zeros((R, R))
    A, C, LA, L = imp.A, imp.C, imp.LA, imp.L
    sL, sP, sB, sA = plan["sL"], plan["sP"], plan["sB"], plan["sA"]
    nL, nP, nB, nA = plan["nL"], plan["nP"], plan["nB"], plan["nA"]
    wla = w @ LA
    if nL:
        X[sL, sL] = 2.0 * w[plan["LiLi"]] * C[plan["LjLj"]]
    if nL and nP:
        blk = wla[plan["LiPb"]] * A[plan["LjPa"]] + wla[plan["LiPa"]] * A[plan["LjPb"]]
        X[sL, sP] = blk
        X[sP, sL] = blk.T
    if nB:
        wlc = w @ imp.H
        K = L.T @ w @ L
        N = A.T @ K @ A
        CKA = C @ K @ A
        if nL:
            blk = 2.0 * (wla[plan["LiBi"]] * C[plan["LjBj"]] + wlc[plan["LiBj"]] * A[plan["LjBi"]])
            X[sL, sB] = blk
            X[sB, sL] = blk.T
        if nP:
            blk = A[plan["BjPa"]].T * N[plan["BiPb"]].T + N[plan["PaBi"]] * A[plan["BjPb"]].T
            X[sP, sB] = blk
            X[sB, sP] = blk.T
        X[sB, sB] = 2.0 * (A[plan["BjBi"]] * CKA[plan["BjBi"]].T + C[plan["BjBj"]]
                           * N[plan["BiBi"]].T + CKA[plan["BjBi"]] * A[plan["BjBi"]].T)
    if r is not None:
        ea = imp.ea
        rla = r @ LA
        Li, Bi, Bj = plan["Li"], plan["Bi"], plan["Bj"]
        if nL and nA:
            blk = -2.0 * r[Li][:, None] * A[plan["Ljai"]]
            X[sL, sA] += blk
            X[sA, sL] += blk.T
        if nB:
            if nL:
                blk = -2.0 * r[Li][:, None] * A[plan["LjBi"]] * ea[Bj][None, :]
                X[sL, sB] += blk
                X[sB, sL] += blk.T
            if nA:
                blk = -2.0 * rla[Bi][:, None] * A[plan["Bjai"]]
                X[sB, sA] += blk
                X[sA, sB] += blk.T
            X[sB, sB] += -2.0 * (rla[Bi][:, None] * A[plan["BjBi"]] * ea[Bj][None, :]
                                 + rla[Bi][None, :] * A[plan["BjBi"]].T * ea[Bj][:, None])
    return plan["onehot"].mat(X)
