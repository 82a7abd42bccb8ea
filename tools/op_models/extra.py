"""Ops beyond the FP32 engine issue's minimum list that real CNN, OCR, detection and transformer
exports contain: rounding and trig unaries, more activations, IsNaN/IsInf, comparisons and logic,
Mod, Sum/Mean, the remaining reductions, ArgMax/ArgMin, LRN, DepthToSpace/SpaceToDepth, Hardmax,
Trilu, CumSum, OneHot, GatherElements/GatherND, ScatterND/ScatterElements/Scatter, TopK, NonZero,
Einsum, NonMaxSuppression, RNN/GRU/LSTM, Tan/Asin/Acos/Atan/Sinh/Cosh/Asinh/Acosh/Atanh,
Shrink, LpNormalization, GridSample, CastLike, EyeLike, Compress, ReverseSequence. A few cases per op, spread over the opsets where semantics changed."""
import numpy as np
from onnx import helper

from make_op_models import Rand

N = helper.make_node
I64 = np.int64


def i64(*v):
    return np.array(v, I64)


def unary_cases(B):
    # op -> (input maker, comparison, opsets)
    table = {
        'Floor': (lambda r, s: r.grid(0.25, -4, 4, *s), 'exact', (6, 13)),
        'Ceil': (lambda r, s: r.grid(0.25, -4, 4, *s), 'exact', (6, 13)),
        'Round': (lambda r, s: r.grid(0.25, -4, 4, *s), 'exact', (11, 22)),  # x.5: half to even
        'Sign': (lambda r, s: r.grid(0.5, -2, 2, *s), 'exact', (9, 13)),
        'Sin': (lambda r, s: r.normal(*s, scale=4.0), 'transcendental', (7,)),
        'Cos': (lambda r, s: r.normal(*s, scale=4.0), 'transcendental', (7,)),
        'Softplus': (lambda r, s: r.normal(*s, scale=6.0), 'transcendental', (1, 13)),
        'Softsign': (lambda r, s: r.normal(*s, scale=3.0), 'elementwise', (1, 13)),
        'Mish': (lambda r, s: r.normal(*s, scale=4.0), 'transcendental', (18,)),
    }
    for op, (make, cmp, opsets) in table.items():
        for opset in opsets:
            name = f'{op}_o{opset}'
            B.add(name, op, opset, N(op, ['x'], ['y']), [('x', make(Rand(name), [2, 3, 4, 5]))], compare=cmp)
    name = 'Sign_int64_o13'
    B.add(name, 'Sign', 13, N('Sign', ['x'], ['y']), [('x', Rand(name).ints(-3, 3, 12))], outputs=[('y', 'i64')],
          compare='exact')
    acts = [('Selu', 6, {}), ('Selu', 6, {'alpha': 2.0, 'gamma': 3.0}), ('Celu', 12, {}), ('Celu', 12, {'alpha': 2.0}),
            ('ThresholdedRelu', 10, {}), ('ThresholdedRelu', 10, {'alpha': 0.5})]
    for op, opset, attrs in acts:
        name = f'{op}_{"default" if not attrs else "attrs"}_o{opset}'
        B.add(name, op, opset, N(op, ['x'], ['y'], **attrs), [('x', Rand(name).normal(2, 3, 4, 5, scale=3.0))],
              compare='exact' if op == 'ThresholdedRelu' else 'transcendental')
    special = np.array([0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 3.4e38, -0.0], np.float32)
    for opset in (9, 13):
        name = f'IsNaN_o{opset}'
        B.add(name, 'IsNaN', opset, N('IsNaN', ['x'], ['y']), [('x', special.reshape(2, 4))], outputs=[('y', 'b')],
              compare='exact')
    for v, attrs in (('default', {}), ('negative_only', {'detect_positive': 0}), ('positive_only', {'detect_negative': 0})):
        name = f'IsInf_{v}_o10'
        B.add(name, 'IsInf', 10, N('IsInf', ['x'], ['y'], **attrs), [('x', special)], outputs=[('y', 'b')],
              compare='exact')


def binary_cases(B):
    for op, opsets in (('GreaterOrEqual', (12, 16)), ('LessOrEqual', (12, 16))):
        for opset in opsets:
            for v, ash, bsh, dt in (('float', [2, 3, 4], [2, 3, 4], 'f'), ('broadcast', [3, 1], [1, 4], 'f'),
                                    ('int64', [6], [], 'i64')):
                name = f'{op}_{v}_o{opset}'
                r = Rand(name)
                a, b = (r.grid(0.5, -2, 2, *ash), r.grid(0.5, -2, 2, *bsh)) if dt == 'f' else \
                    (r.ints(-3, 3, *ash), r.ints(-3, 3, *bsh))
                B.add(name, op, opset, N(op, ['a', 'b'], ['y']), [('a', a), ('b', b)], outputs=[('y', 'b')],
                      compare='exact')
    for op in ('And', 'Or', 'Xor'):
        for opset, v, ash, bsh in ((7, 'same', [3, 4], [3, 4]), (7, 'broadcast', [2, 3, 4], [4])):
            name = f'{op}_{v}_o{opset}'
            r = Rand(name)
            B.add(name, op, opset, N(op, ['a', 'b'], ['y']), [('a', r.bools(*ash)), ('b', r.bools(*bsh))],
                  outputs=[('y', 'b')], compare='exact')
    # Mod: fmod=0 is the floored (Python) remainder for integers; fmod=1 is C fmod (floats need it).
    mods = [('int64_floor', 13, {}, I64, 'i64'), ('int64_fmod', 13, {'fmod': 1}, I64, 'i64'),
            ('int32_floor', 10, {}, np.int32, 'i32'), ('float_fmod', 13, {'fmod': 1}, np.float32, 'f'),
            ('broadcast_int64', 13, {}, I64, 'i64')]
    for v, opset, attrs, dt, elem in mods:
        name = f'Mod_{v}_o{opset}'
        r = Rand(name)
        if dt == np.float32:
            a, b = r.normal(3, 4, scale=5.0), r.away_from_zero(0.5, 3, 3, 4)
        else:
            a = r.ints(-20, 20, 3, 4, dtype=dt)
            b = (r.ints(1, 6, 4 if v.startswith('broadcast') else 3, *([] if v.startswith('broadcast') else [4]), dtype=dt)
                 * np.where(r.bools(*([4] if v.startswith('broadcast') else [3, 4])), 1, -1).astype(dt))
        B.add(name, 'Mod', opset, N('Mod', ['a', 'b'], ['y'], **attrs), [('a', a), ('b', b)],
              outputs=[('y', elem)], compare='exact' if elem != 'f' else 'elementwise')
    for op in ('Sum', 'Mean'):
        for opset, v, shapes in ((13, 'one_input', [[2, 3]]), (13, 'three_broadcast', [[2, 3, 4], [3, 1], [4]]),
                                 (8, 'two_sided', [[3, 1], [1, 4]]), (6, 'two_same', [[3, 4], [3, 4]])):
            name = f'{op}_{v}_o{opset}'
            r = Rand(name)
            names = [f'x{i}' for i in range(len(shapes))]
            B.add(name, op, opset, N(op, names, ['y']), [(n, r.normal(*s)) for n, s in zip(names, shapes)],
                  compare='elementwise')


def reduce_cases(B):
    ops = ('ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp', 'ReduceLogSum')
    for op in ops:
        make = (lambda r: r.uniform(0.5, 1.5, 2, 3, 4)) if op in ('ReduceProd', 'ReduceLogSum') else \
            (lambda r: r.normal(2, 3, 4, scale=2.0))
        for v, opset, attrs, axes in (('axis1', 13, {'axes': [1]}, None), ('axes02_nokeep', 13, {'axes': [0, 2], 'keepdims': 0}, None),
                                      ('all', 11, {}, None), ('neg_axis', 1, {'axes': [-1]}, None),
                                      ('axes_input', 18, {}, [1]), ('axes_input_nokeep', 18, {'keepdims': 0}, [0, 2]),
                                      ('no_axes', 18, {}, None)):
            name = f'{op}_{v}_o{opset}'
            ins, inits = ['x'], []
            if axes is not None:
                ins.append('axes')
                inits.append(('axes', i64(*axes)))
            B.add(name, op, opset, N(op, ins, ['y'], **attrs), [('x', make(Rand(name)))], inits=inits,
                  compare='accumulate')
    for op in ('ReduceProd', 'ReduceSumSquare', 'ReduceL1'):
        name = f'{op}_int64_o13'
        B.add(name, op, 13, N(op, ['x'], ['y'], axes=[1]), [('x', Rand(name).ints(-3, 3, 3, 4))],
              outputs=[('y', 'i64')], compare='exact')
    for op in ('ArgMax', 'ArgMin'):
        for v, opset, attrs in (('axis1', 11, {'axis': 1}), ('axis_neg_nokeep', 13, {'axis': -1, 'keepdims': 0}),
                                ('default', 1, {}), ('last_index', 12, {'axis': 2, 'select_last_index': 1}),
                                ('first_index', 13, {'axis': 2, 'select_last_index': 0})):
            name = f'{op}_{v}_o{opset}'
            B.add(name, op, opset, N(op, ['x'], ['y'], **attrs), [('x', Rand(name).grid(1.0, -2, 2, 2, 3, 5))],
                  outputs=[('y', 'i64')], compare='exact')
        name = f'{op}_int64_o13'
        B.add(name, op, 13, N(op, ['x'], ['y'], axis=0), [('x', Rand(name).ints(-5, 5, 4, 3))],
              outputs=[('y', 'i64')], compare='exact')


def cnn_cases(B):
    for v, opset, attrs in (('size3', 13, {'size': 3}), ('size5_alexnet', 13, {'size': 5, 'alpha': 1e-4, 'beta': 0.75, 'bias': 2.0}),
                            ('size3_attrs', 1, {'size': 3, 'alpha': 0.5, 'beta': 0.5, 'bias': 1.5})):
        name = f'LRN_{v}_o{opset}'
        B.add(name, 'LRN', opset, N('LRN', ['x'], ['y'], **attrs), [('x', Rand(name).normal(2, 7, 4, 5, scale=3.0))],
              compare='accumulate')
    for v, opset, attrs in (('dcr_default', 11, {'blocksize': 2}), ('crd', 11, {'blocksize': 2, 'mode': 'CRD'}),
                            ('dcr', 13, {'blocksize': 3, 'mode': 'DCR'}), ('crd', 13, {'blocksize': 2, 'mode': 'CRD'}),
                            ('opset1', 1, {'blocksize': 2})):
        name = f'DepthToSpace_{v}_o{opset}'
        c = 18 if attrs['blocksize'] == 3 else 8
        B.add(name, 'DepthToSpace', opset, N('DepthToSpace', ['x'], ['y'], **attrs), [('x', Rand(name).normal(2, c, 3, 4))],
              compare='exact')
    for v, opset, b in (('b2', 13, 2), ('b3', 1, 3)):
        name = f'SpaceToDepth_{v}_o{opset}'
        B.add(name, 'SpaceToDepth', opset, N('SpaceToDepth', ['x'], ['y'], blocksize=b),
              [('x', Rand(name).normal(2, 3, 2 * b, 3 * b))], compare='exact')
    for v, opset, attrs, shape in (('default', 13, {}, [2, 3, 5]), ('axis1', 13, {'axis': 1}, [2, 3, 5]),
                                   ('legacy_axis1', 11, {}, [2, 3, 5]), ('legacy_axis0', 1, {'axis': 0}, [2, 3])):
        name = f'Hardmax_{v}_o{opset}'
        B.add(name, 'Hardmax', opset, N('Hardmax', ['x'], ['y'], **attrs), [('x', Rand(name).grid(1.0, -2, 2, *shape))],
              compare='exact')
    for v, attrs, k, shape, dt in (('upper', {}, None, [4, 5], 'f'), ('lower', {'upper': 0}, None, [4, 5], 'f'),
                                   ('upper_k1', {}, 1, [2, 4, 5], 'f'), ('lower_kneg1', {'upper': 0}, -1, [2, 5, 4], 'f'),
                                   ('upper_kbig', {}, 7, [3, 4], 'f'), ('lower_int64', {'upper': 0}, 0, [3, 3], 'i64')):
        name = f'Trilu_{v}_o14'
        r = Rand(name)
        x = r.normal(*shape) if dt == 'f' else r.ints(1, 9, *shape)
        ins, inits = ['x'], []
        if k is not None:
            ins.append('k')
            inits.append(('k', np.array(k, I64)))
        B.add(name, 'Trilu', 14, N('Trilu', ins, ['y'], **attrs), [('x', x)], inits=inits, outputs=[('y', dt)],
              compare='exact')
    for v, opset, attrs, axis, dt in (('axis0', 11, {}, 0, 'f'), ('axis1', 14, {}, 1, 'f'),
                                      ('exclusive', 14, {'exclusive': 1}, 1, 'f'), ('reverse', 14, {'reverse': 1}, -1, 'f'),
                                      ('exclusive_reverse', 11, {'exclusive': 1, 'reverse': 1}, 0, 'f'),
                                      ('int64', 14, {}, 1, 'i64'), ('int32_axis', 14, {}, np.int32(1), 'f')):
        name = f'CumSum_{v}_o{opset}'
        r = Rand(name)
        x = r.normal(3, 5) if dt == 'f' else r.ints(-9, 9, 3, 5)
        ax = np.array(axis, np.int32 if isinstance(axis, np.int32) else I64)
        B.add(name, 'CumSum', opset, N('CumSum', ['x', 'axis'], ['y'], **attrs), [('x', x)], inits=[('axis', ax)],
              outputs=[('y', dt)], compare='exact' if dt != 'f' else 'accumulate')
    for v, opset, axis, depth in (('last_axis', 11, -1, 5.0), ('axis0', 11, 0, 4.0), ('axis1', 9, 1, 6.0)):
        name = f'OneHot_{v}_o{opset}'
        r = Rand(name)
        idx = r.ints(-4 if opset >= 11 else 0, 6, 2, 3)  # some out of range: all "off"
        B.add(name, 'OneHot', opset, N('OneHot', ['i', 'depth', 'values'], ['y'], axis=axis), [('i', idx)],
              inits=[('depth', np.array(depth, np.float32)), ('values', np.array([-1.0, 2.5], np.float32))],
              compare='exact')
    name = 'OneHot_int64_values_o11'
    B.add(name, 'OneHot', 11, N('OneHot', ['i', 'depth', 'values'], ['y']), [('i', Rand(name).ints(0, 3, 5))],
          inits=[('depth', np.array(4, I64)), ('values', i64(0, 1))], outputs=[('y', 'i64')], compare='exact')


def indexing_cases(B):
    for v, opset, axis, xs, ishape in (('axis0', 11, 0, [3, 4], [2, 4]), ('axis1', 13, 1, [3, 4], [3, 2]),
                                       ('axis_neg_3d', 13, -1, [2, 3, 5], [2, 3, 2])):
        name = f'GatherElements_{v}_o{opset}'
        r = Rand(name)
        dim = xs[axis]
        B.add(name, 'GatherElements', opset, N('GatherElements', ['x', 'i'], ['y'], axis=axis),
              [('x', r.normal(*xs)), ('i', r.ints(-dim, dim - 1, *ishape))], compare='exact')
    gnd = [('full_index', 11, 0, [3, 4], lambda r: np.stack([r.ints(0, 2, 5), r.ints(-4, 3, 5)], -1)),
           ('row_slices', 13, 0, [4, 3, 2], lambda r: r.ints(0, 3, 2, 1)),
           ('batch_dims1', 12, 1, [2, 4, 3], lambda r: r.ints(0, 3, 2, 3, 1)),
           ('batch_dims1_full', 13, 1, [2, 4, 3], lambda r: np.stack([r.ints(0, 3, 2, 2), r.ints(0, 2, 2, 2)], -1))]
    for v, opset, bd, xs, mk in gnd:
        name = f'GatherND_{v}_o{opset}'
        r = Rand(name)
        attrs = {'batch_dims': bd} if bd else {}
        B.add(name, 'GatherND', opset, N('GatherND', ['x', 'i'], ['y'], **attrs), [('x', r.normal(*xs)), ('i', mk(r))],
              compare='exact')
    name = 'GatherND_int64_data_o13'
    r = Rand(name)
    B.add(name, 'GatherND', 13, N('GatherND', ['x', 'i'], ['y']), [('x', r.ints(0, 99, 4, 3)), ('i', i64([2], [0]))],
          outputs=[('y', 'i64')], compare='exact')
    # ScatterND: distinct indices (duplicates are undefined for reduction none).
    snd = [('rows', 11, {}, [4, 3], i64([2], [0]), [2, 3]), ('elements', 13, {}, [4, 3], i64([0, 1], [3, 2], [-1, 0]), [3]),
           ('add', 16, {'reduction': 'add'}, [4, 3], i64([1], [1]), [2, 3]),
           ('mul', 16, {'reduction': 'mul'}, [4, 3], i64([1], [3]), [2, 3]),
           ('max', 18, {'reduction': 'max'}, [4, 3], i64([0], [0]), [2, 3])]
    for v, opset, attrs, xs, idx, ushape in snd:
        name = f'ScatterND_{v}_o{opset}'
        r = Rand(name)
        B.add(name, 'ScatterND', opset, N('ScatterND', ['x', 'i', 'u'], ['y'], **attrs),
              [('x', r.normal(*xs)), ('u', r.normal(*ushape))], inits=[('i', idx)], compare='elementwise')
    se = [('axis0', 'ScatterElements', 11, {}, [3, 4], np.array([[1, 0, 2, 0]], I64), [1, 4]),
          ('axis1_neg_idx', 'ScatterElements', 13, {'axis': 1}, [3, 4], np.array([[0, -1], [2, 1], [3, 0]], I64), [3, 2]),
          ('add_dups', 'ScatterElements', 16, {'axis': 1, 'reduction': 'add'}, [2, 4], np.array([[1, 1, 2], [0, 3, 3]], I64), [2, 3]),
          ('min', 'ScatterElements', 18, {'axis': 0, 'reduction': 'min'}, [3, 2], np.array([[1, 0], [1, 2]], I64), [2, 2]),
          ('axis1', 'Scatter', 9, {'axis': 1}, [3, 4], np.array([[0, 3], [2, 1], [1, 0]], I64), [3, 2])]
    for v, op, opset, attrs, xs, idx, ushape in se:
        name = f'{op}_{v}_o{opset}'
        r = Rand(name)
        B.add(name, op, opset, N(op, ['x', 'i', 'u'], ['y'], **attrs), [('x', r.normal(*xs)), ('u', r.normal(*ushape))],
              inits=[('i', idx)], compare='elementwise')
    # TopK: ties (a coarse grid) must come out lower index first, as ONNX Runtime orders them. With
    # sorted=0 the order is unspecified (ORT's follows its heap/nth_element): only k=1 is compared.
    tk = [('k_attr', 1, {'k': 3}, None, [3, 6]), ('k_input', 10, {}, 2, [3, 6]),
          ('smallest_axis0', 11, {'largest': 0, 'axis': 0}, 2, [4, 5]), ('largest_ties', 11, {'axis': 1}, 4, [2, 8, 3]),
          ('unsorted_k1', 11, {'sorted': 0}, 1, [2, 7]), ('k_all', 13, {}, 5, [2, 5]), ('k_zero', 13, {}, 0, [2, 5])]
    for v, opset, attrs, k, xs in tk:
        name = f'TopK_{v}_o{opset}'
        r = Rand(name)
        ins, inits = ['x'], []
        if k is not None:
            ins.append('k')
            inits.append(('k', i64(k)))
        B.add(name, 'TopK', opset, N('TopK', ins, ['v', 'i'], **attrs), [('x', r.grid(0.5, -2, 2, *xs))], inits=inits,
              outputs=['v', ('i', 'i64')], compare='exact')
    name = 'TopK_int64_o11'
    B.add(name, 'TopK', 11, N('TopK', ['x', 'k'], ['v', 'i']), [('x', Rand(name).ints(-5, 5, 3, 6))], inits=[('k', i64(2))],
          outputs=[('v', 'i64'), ('i', 'i64')], compare='exact')
    for v, opset, mk, dt in (('float', 9, lambda r: r.grid(1.0, -1, 1, 3, 4), 'f'), ('bool', 13, lambda r: r.bools(2, 3, 2), 'b'),
                             ('int64', 13, lambda r: r.ints(-1, 1, 7), 'i64'), ('none', 13, lambda r: np.zeros((2, 3), np.float32), 'f')):
        name = f'NonZero_{v}_o{opset}'
        B.add(name, 'NonZero', opset, N('NonZero', ['x'], ['y']), [('x', mk(Rand(name)))], outputs=[('y', 'i64')],
              compare='exact')


def einsum_cases(B):
    cases = [('batched_matmul', 'bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]),
             ('attention_scores', 'bhid,bhjd->bhij', [[2, 3, 4, 8], [2, 3, 5, 8]]),
             ('attention_values', 'bhij,bhjd->bhid', [[2, 3, 4, 5], [2, 3, 5, 8]]),
             ('linear', 'bnd,dk->bnk', [[2, 6, 8], [8, 4]]),
             ('implicit_matmul', 'ij,jk', [[3, 4], [4, 5]]),
             ('transpose', 'ij->ji', [[3, 4]]),
             ('sum_axis', 'ijk->ik', [[2, 3, 4]]),
             ('dot', 'i,i', [[7], [7]]),
             ('outer', 'i,j->ij', [[3], [4]]),
             ('ellipsis_matmul', '...ij,...jk->...ik', [[2, 3, 4, 5], [2, 3, 5, 2]]),
             ('three_operands', 'ij,jk,kl->il', [[2, 3], [3, 4], [4, 5]]),
             ('spaces_sum_free', 'b i j , b j -> b i', [[2, 3, 4], [2, 4]]),
             ('output_permuted', 'bij,bjk->kib', [[2, 3, 4], [2, 4, 5]])]
    for v, eq, shapes in cases:
        opset = 13 if v == 'attention_scores' else 12
        name = f'Einsum_{v}_o{opset}'
        r = Rand(name)
        names = [f'x{i}' for i in range(len(shapes))]
        B.add(name, 'Einsum', opset, N('Einsum', names, ['y'], equation=eq),
              [(n, r.normal(*s)) for n, s in zip(names, shapes)], compare='accumulate')


def nms_cases(B):
    # Random overlapping boxes; scores random (distinct), so the order is defined.
    def boxes(r, nb, n, center, flip):
        y, x = r.uniform(0, 10, nb, n), r.uniform(0, 10, nb, n)
        h, w = r.uniform(1, 5, nb, n), r.uniform(1, 5, nb, n)
        if center:
            return np.stack([x, y, w, h], -1)
        b = np.stack([y, x, y + h, x + w], -1)
        return b[..., [2, 3, 0, 1]] if flip else b
    variants = [('basic', 11, {}, 1, 2, 5, 0.5, 0.3, False), ('no_score_threshold', 11, {}, 1, 3, 4, 0.4, None, False),
                ('center_point', 11, {'center_point_box': 1}, 1, 2, 6, 0.3, 0.2, False),
                ('batches_flipped_corners', 10, {}, 2, 2, 3, 0.5, 0.1, True), ('iou_zero', 11, {}, 1, 1, 10, 0.0, None, False),
                ('no_max_output', 11, {}, 1, 2, None, 0.5, None, False)]
    for v, opset, attrs, nb, nc, max_out, iou, score, flip in variants:
        name = f'NonMaxSuppression_{v}_o{opset}'
        r = Rand(name)
        ins, inits = ['boxes', 'scores'], []
        for n_, val, mk in (('max_out', max_out, lambda q: i64(q)), ('iou', iou, lambda q: np.array([q], np.float32)),
                            ('score', score, lambda q: np.array([q], np.float32))):
            ins.append(n_ if val is not None else '')
            if val is not None:
                inits.append((n_, mk(val)))
        while ins and ins[-1] == '':
            ins.pop()
        B.add(name, 'NonMaxSuppression', opset, N('NonMaxSuppression', ins, ['y'], **attrs),
              [('boxes', boxes(r, nb, 20, 'center_point_box' in attrs, flip)), ('scores', r.uniform(0, 1, nb, nc, 20))],
              inits=inits, outputs=[('y', 'i64')], compare='exact')


def rnn_cases(B):
    # layout = 1 (batch first) has no case here: ONNX Runtime rejects it; the ONNX backend node
    # tests *_batchwise check it against ONNX's reference instead.
    # (variant, op, opset, attrs, T, N, I, H, bias, seq_lens, initial states, peepholes)
    variants = [
        ('defaults', 'LSTM', 7, {}, 4, 2, 3, 5, False, None, False, False),
        ('bias_init_peep', 'LSTM', 7, {}, 4, 2, 3, 5, True, None, True, True),
        ('bidirectional_seq_lens', 'LSTM', 14, {'direction': 'bidirectional'}, 5, 3, 4, 6, True, [5, 2, 3], True, False),
        ('reverse_clip', 'LSTM', 7, {'direction': 'reverse', 'clip': 0.5}, 4, 2, 3, 5, True, None, False, False),
        ('activations', 'LSTM', 7, {'activations': ['HardSigmoid', 'LeakyRelu', 'ScaledTanh'], 'activation_alpha': [0.3, 0.1, 0.9],
                                     'activation_beta': [0.4, 1.2]}, 3, 2, 3, 4, True, None, False, False),
        ('defaults', 'GRU', 7, {}, 4, 2, 3, 5, False, None, False, False),
        ('bias_init', 'GRU', 7, {}, 4, 2, 3, 5, True, None, True, False),
        ('linear_before_reset', 'GRU', 14, {'linear_before_reset': 1}, 4, 2, 3, 5, True, None, True, False),
        ('bidirectional_seq_lens', 'GRU', 7, {'direction': 'bidirectional'}, 5, 3, 4, 6, True, [1, 5, 4], True, False),
        ('defaults', 'RNN', 7, {}, 4, 2, 3, 5, False, None, False, False),
        ('bidirectional_relu', 'RNN', 14, {'direction': 'bidirectional', 'activations': ['Relu', 'Tanh']}, 4, 2, 3, 5, True,
         [4, 2], True, False),
    ]
    for v, op, opset, attrs, T, N_, I, H, bias, lens, init, peep in variants:
        name = f'{op}_{v}_o{opset}'
        r = Rand(name)
        G = {'LSTM': 4, 'GRU': 3, 'RNN': 1}[op]
        D = 2 if attrs.get('direction') == 'bidirectional' else 1
        layout1 = attrs.get('layout') == 1
        x = r.normal(N_, T, I) if layout1 else r.normal(T, N_, I)
        inits = [('W', r.normal(D, G * H, I, scale=0.5)), ('R', r.normal(D, G * H, H, scale=0.5))]
        ins = ['x', 'W', 'R']
        opt = []
        if bias:
            opt.append(('B', r.normal(D, 2 * G * H, scale=0.5)))
        else:
            opt.append(None)
        opt.append(('L', np.array(lens, np.int32)) if lens else None)
        state = (N_, D, H) if layout1 else (D, N_, H)
        opt.append(('h0', r.normal(*state)) if init else None)
        if op == 'LSTM':
            opt.append(('c0', r.normal(*state)) if init else None)
            opt.append(('P', r.normal(D, 3 * H, scale=0.5)) if peep else None)
        while opt and opt[-1] is None:
            opt.pop()
        for o in opt:
            ins.append(o[0] if o else '')
            if o:
                inits.append(o)
        outs = ['Y', 'Yh'] + (['Yc'] if op == 'LSTM' else [])
        B.add(name, op, opset, N(op, ins, outs, hidden_size=H, **attrs), [('x', x)], inits=inits, outputs=outs,
              compare='transcendental')
    # An OCR head's form: only Y_h requested (Y omitted).
    name = 'LSTM_only_last_state_o13'
    r = Rand(name)
    B.add(name, 'LSTM', 13, N('LSTM', ['x', 'W', 'R'], ['', 'Yh'], hidden_size=4), [('x', r.normal(3, 2, 3))],
          inits=[('W', r.normal(1, 16, 3, scale=0.5)), ('R', r.normal(1, 16, 4, scale=0.5))], outputs=['Yh'],
          compare='transcendental')


def trig_cases(B):
    table = {
        'Tan': (lambda r: r.uniform(-1.4, 1.4, 3, 17), 7), 'Asin': (lambda r: r.uniform(-1, 1, 3, 17), 7),
        'Acos': (lambda r: r.uniform(-1, 1, 3, 17), 7), 'Atan': (lambda r: r.normal(3, 17, scale=4.0), 7),
        'Sinh': (lambda r: r.normal(3, 17, scale=3.0), 9), 'Cosh': (lambda r: r.normal(3, 17, scale=3.0), 9),
        'Asinh': (lambda r: r.normal(3, 17, scale=5.0), 9), 'Acosh': (lambda r: r.uniform(1, 20, 3, 17), 9),
        'Atanh': (lambda r: r.uniform(-0.95, 0.95, 3, 17), 9),
    }
    for op, (make, opset) in table.items():
        name = f'{op}_o{opset}'
        B.add(name, op, opset, N(op, ['x'], ['y']), [('x', make(Rand(name)))], compare='transcendental')
    for v, attrs in (('default', {}), ('lambd_bias', {'lambd': 1.0, 'bias': 0.5})):
        name = f'Shrink_{v}_o9'
        B.add(name, 'Shrink', 9, N('Shrink', ['x'], ['y'], **attrs), [('x', Rand(name).grid(0.25, -2, 2, 4, 9))],
              compare='elementwise')
    for v, attrs in (('default', {}), ('p1_axis1', {'p': 1, 'axis': 1}), ('p2_axis0', {'axis': 0})):
        name = f'LpNormalization_{v}_o1'
        B.add(name, 'LpNormalization', 1, N('LpNormalization', ['x'], ['y'], **attrs),
              [('x', Rand(name).normal(3, 4, 5))], compare='accumulate')


def grid_sample_cases(B):
    # Grid points reach past [-1, 1] so every padding mode matters.
    for mode in ('bilinear', 'nearest', 'bicubic'):
        for pad in ('zeros', 'border', 'reflection'):
            for ac in (0, 1):
                if mode != 'bilinear' and ac == 1 and pad != 'reflection':
                    continue
                name = f'GridSample_{mode}_{pad}_ac{ac}_o16'
                r = Rand(name)
                B.add(name, 'GridSample', 16, N('GridSample', ['x', 'g'], ['y'], mode=mode, padding_mode=pad, align_corners=ac),
                      [('x', r.normal(2, 3, 5, 6)), ('g', r.uniform(-1.3, 1.3, 2, 4, 7, 2))], compare='resize')
    name = 'GridSample_cubic_border_o20'
    r = Rand(name)
    B.add(name, 'GridSample', 20, N('GridSample', ['x', 'g'], ['y'], mode='cubic', padding_mode='border'),
          [('x', r.normal(1, 2, 5, 6)), ('g', r.uniform(-1.2, 1.2, 1, 3, 4, 2))], compare='resize')
    name = 'CastLike_float_to_int64_o15'
    r = Rand(name)
    B.add(name, 'CastLike', 15, N('CastLike', ['x', 't'], ['y']), [('x', r.grid(0.5, -4, 4, 3, 4))],
          inits=[('t', np.array([0], I64))], outputs=[('y', 'i64')], compare='exact')
    name = 'CastLike_int64_to_float_o15'
    r = Rand(name)
    B.add(name, 'CastLike', 15, N('CastLike', ['x', 't'], ['y']), [('x', r.ints(-9, 9, 5))],
          inits=[('t', np.array([0.0], np.float32))], compare='exact')


def misc_cases(B):
    for v, attrs, shape, dt in (('default', {}, [3, 4], 'f'), ('k1_int64', {'k': 1, 'dtype': 7}, [4, 3], 'i64'),
                                ('kneg2', {'k': -2}, [5, 5], 'f')):
        name = f'EyeLike_{v}_o9'
        B.add(name, 'EyeLike', 9, N('EyeLike', ['x'], ['y'], **attrs), [('x', Rand(name).normal(*shape))],
              outputs=[('y', dt)], compare='exact')
    for v, opset, attrs, cond in (('axis0', 11, {'axis': 0}, [True, False, True]), ('axis_neg', 11, {'axis': -1}, [False, True, True, False]),
                                  ('flat_short', 9, {}, [True, False, True, True, False]), ('axis1_short', 9, {'axis': 1}, [True, False])):
        name = f'Compress_{v}_o{opset}'
        B.add(name, 'Compress', opset, N('Compress', ['x', 'c'], ['y'], **attrs), [('x', Rand(name).normal(3, 4))],
              inits=[('c', np.array(cond))], compare='exact')
    for v, attrs, shape, lens in (('time0', {}, [4, 3, 2], [4, 1, 3]), ('batch0', {'batch_axis': 0, 'time_axis': 1}, [3, 5], [2, 5, 0])):
        name = f'ReverseSequence_{v}_o10'
        B.add(name, 'ReverseSequence', 10, N('ReverseSequence', ['x', 'l'], ['y'], **attrs), [('x', Rand(name).normal(*shape))],
              inits=[('l', np.array(lens, I64))], compare='exact')


def cases(B):
    unary_cases(B)
    binary_cases(B)
    reduce_cases(B)
    cnn_cases(B)
    indexing_cases(B)
    einsum_cases(B)
    nms_cases(B)
    rnn_cases(B)
    trig_cases(B)
    grid_sample_cases(B)
    misc_cases(B)
