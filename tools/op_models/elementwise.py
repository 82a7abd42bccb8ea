"""Elementwise ops: arithmetic with broadcasting, unary math, activations, Clip, Max/Min,
comparisons, Where, Gelu (native opset 20 and the decomposed forms exporters emit)."""
import numpy as np
from onnx import helper

from make_op_models import Rand

N = helper.make_node
SQRT2 = np.float32(np.sqrt(2.0))


def binary_cases(B):
    # (variant, a shape, b shape, b is an initializer)
    shapes = [
        ('same', [2, 3, 4], [2, 3, 4], False),
        ('scalar', [2, 3, 4], [], False),
        ('channel_nchw', [2, 3, 4, 5], [1, 3, 1, 1], True),
        ('two_sided', [3, 1], [1, 4], False),
        ('trailing', [2, 3, 4], [4], True),
        ('lhs_broadcast', [5], [2, 3, 5], False),
        ('odd_37', [37], [37], False),
    ]
    for op in ('Add', 'Sub', 'Mul', 'Div'):
        for opset, only in ((13, None), (7, 'channel_nchw'), (14, 'two_sided')):
            for v, ash, bsh, b_init in shapes:
                if only and v != only:
                    continue
                name = f'{op}_{v}_o{opset}'
                r = Rand(name)
                a = r.normal(*ash, scale=3.0)
                b = r.away_from_zero(0.5, 2.0, *bsh) if op == 'Div' else r.normal(*bsh, scale=3.0)
                inputs, inits = [('a', a)], []
                (inits if b_init else inputs).append(('b', b))
                B.add(name, op, opset, N(op, ['a', 'b'], ['y']), inputs, inits=inits, compare='elementwise')
        # Integer arithmetic is what shape computations use (exact; Div truncates toward zero).
        for dt, dname in ((np.int64, 'int64'), (np.int32, 'int32')):
            name = f'{op}_{dname}_o13'
            r = Rand(name)
            a = r.ints(-50, 50, 3, 4, dtype=dt)
            b = r.ints(1, 9, 3, 4, dtype=dt) * np.where(r.bools(3, 4), 1, -1).astype(dt) if op == 'Div' \
                else r.ints(-50, 50, 3, 4, dtype=dt)
            B.add(name, op, 13, N(op, ['a', 'b'], [('y')]), [('a', a), ('b', b)],
                  outputs=[('y', 'i64' if dt == np.int64 else 'i32')], compare='exact')
        name = f'{op}_int64_scalar_o14'
        r = Rand(name)
        B.add(name, op, 14, N(op, ['a', 'b'], ['y']), [('a', r.ints(1, 64, 4))], inits=[('b', np.array(2, np.int64))],
              outputs=[('y', 'i64')], compare='exact')

    # Pow: float exponent, constant exponents exporters emit, integer exponent (opset 12+).
    pows = [
        ('float_float', 13, lambda r: r.uniform(0.5, 2.0, 2, 3, 4), lambda r: r.uniform(-2, 2, 2, 3, 4), False),
        ('square_const', 13, lambda r: r.normal(2, 3, 4), lambda r: np.array(2.0, np.float32), True),
        ('cube_negative_base', 13, lambda r: r.normal(2, 3, 4), lambda r: np.array([3.0], np.float32), True),
        ('sqrt_const', 13, lambda r: r.uniform(0.1, 4, 2, 3, 4), lambda r: np.array(0.5, np.float32), True),
        ('broadcast', 13, lambda r: r.uniform(0.5, 2, 3, 1), lambda r: r.uniform(-1, 3, 1, 4), False),
        ('int64_exponent', 13, lambda r: r.normal(2, 3, 4), lambda r: r.ints(0, 4, 4), False),
        ('int32_exponent', 15, lambda r: r.normal(3, 4), lambda r: np.array(3, np.int32), True),
        ('float_float', 7, lambda r: r.uniform(0.5, 2.0, 2, 3), lambda r: r.uniform(-2, 2, 2, 3), False),
        ('square_const', 12, lambda r: r.normal(2, 3, 4), lambda r: np.array(2.0, np.float32), True),
    ]
    for v, opset, fa, fb, b_init in pows:
        name = f'Pow_{v}_o{opset}'
        r = Rand(name)
        a, b = fa(r), fb(r)
        inputs, inits = [('a', a)], []
        (inits if b_init else inputs).append(('b', b))
        B.add(name, 'Pow', opset, N('Pow', ['a', 'b'], ['y']), inputs, inits=inits, compare='transcendental')


def unary_cases(B):
    # op -> (input maker, comparison, opsets)
    table = {
        'Sqrt': (lambda r, s: r.uniform(0.01, 10, *s), 'elementwise', (6, 13)),
        'Exp': (lambda r, s: r.normal(*s, scale=3.0), 'transcendental', (6, 13)),
        'Log': (lambda r, s: r.uniform(0.01, 20, *s), 'transcendental', (6, 13)),
        'Erf': (lambda r, s: r.normal(*s, scale=1.5), 'transcendental', (9, 13)),
        'Tanh': (lambda r, s: r.normal(*s, scale=2.0), 'transcendental', (6, 13)),
        'Sigmoid': (lambda r, s: r.normal(*s, scale=4.0), 'transcendental', (6, 13)),
        'Neg': (lambda r, s: r.normal(*s), 'exact', (6, 13)),
        'Abs': (lambda r, s: r.normal(*s), 'exact', (6, 13)),
        'Reciprocal': (lambda r, s: r.away_from_zero(0.1, 10, *s), 'elementwise', (6, 13)),
        'Relu': (lambda r, s: r.normal(*s), 'exact', (6, 13, 14)),
    }
    for op, (make, cmp, opsets) in table.items():
        for opset in opsets:
            for v, shape in (('4d', [2, 3, 4, 5]), ('odd_37', [37])):
                if opset != 13 and v != '4d':
                    continue
                name = f'{op}_{v}_o{opset}'
                B.add(name, op, opset, N(op, ['x'], ['y']), [('x', make(Rand(name), shape))], compare=cmp)
    # Exp over its whole useful range (overflow to inf, underflow to 0).
    name = 'Exp_wide_range_o13'
    x = np.linspace(-100, 88, 97, dtype=np.float32)
    B.add(name, 'Exp', 13, N('Exp', ['x'], ['y']), [('x', x)], compare='transcendental')
    name = 'Sigmoid_saturation_o13'
    x = np.concatenate([np.linspace(-40, 40, 81), [-100, 100]]).astype(np.float32)
    B.add(name, 'Sigmoid', 13, N('Sigmoid', ['x'], ['y']), [('x', x)], compare='transcendental')
    name = 'Tanh_saturation_o13'
    B.add(name, 'Tanh', 13, N('Tanh', ['x'], ['y']), [('x', np.linspace(-20, 20, 81, dtype=np.float32))],
          compare='transcendental')
    for op in ('Neg', 'Abs'):
        name = f'{op}_int64_o13'
        B.add(name, op, 13, N(op, ['x'], ['y']), [('x', Rand(name).ints(-100, 100, 3, 4))], outputs=[('y', 'i64')],
              compare='exact')
    name = 'Not_o1'
    B.add(name, 'Not', 1, N('Not', ['x'], ['y']), [('x', Rand(name).bools(3, 5))], outputs=[('y', 'b')],
          compare='exact')


def activation_cases(B):
    x4 = [2, 3, 4, 5]
    acts = [
        ('HardSigmoid', 'default', 6, {}),
        ('HardSigmoid', 'alpha_beta', 6, {'alpha': 0.1666667, 'beta': 0.5}),
        ('HardSigmoid', 'alpha_beta_wide', 6, {'alpha': 0.5, 'beta': 0.6}),
        ('HardSigmoid', 'default', 22, {}),
        ('HardSwish', 'default', 14, {}),
        ('HardSwish', 'default', 22, {}),
        ('LeakyRelu', 'default', 6, {}),
        ('LeakyRelu', 'alpha0.2', 6, {'alpha': 0.2}),
        ('LeakyRelu', 'alpha0.1', 16, {'alpha': 0.1}),
        ('Elu', 'default', 6, {}),
        ('Elu', 'alpha0.5', 6, {'alpha': 0.5}),
        ('Elu', 'default', 22, {}),
    ]
    for op, v, opset, attrs in acts:
        name = f'{op}_{v}_o{opset}'
        B.add(name, op, opset, N(op, ['x'], ['y'], **attrs), [('x', Rand(name).normal(*x4, scale=4.0))],
              compare='exact' if op == 'LeakyRelu' else ('transcendental' if op == 'Elu' else 'elementwise'))
    # PRelu: slope broadcast to the input (unidirectional since opset 7).
    for opset, v, slope_shape in ((9, 'per_channel', [3, 1, 1]), (9, 'single', [1]), (9, 'full', [3, 4, 5]),
                                  (16, 'per_channel', [3, 1, 1]), (16, 'last_dim', [5]), (7, 'per_channel', [3, 1, 1])):
        name = f'PRelu_{v}_o{opset}'
        r = Rand(name)
        B.add(name, 'PRelu', opset, N('PRelu', ['x', 'slope'], ['y']), [('x', r.normal(*x4))],
              inits=[('slope', r.uniform(0.05, 0.5, *slope_shape))], compare='elementwise')
    # Clip: opset 6 has min/max attributes; opset 11+ has optional inputs.
    x = [2, 3, 4, 5]
    clips = [
        ('attrs', 6, {'min': -0.5, 'max': 0.7}, None, None),
        ('attr_min_only', 6, {'min': 0.0}, None, None),
        ('attrs_default', 6, {}, None, None),
        ('inputs', 11, {}, -0.5, 0.7),
        ('min_only', 11, {}, -0.3, None),
        ('max_only', 11, {}, None, 0.4),
        ('none', 11, {}, None, None),
        ('relu6', 13, {}, 0.0, 6.0),
        ('inputs', 13, {}, -1.0, 1.0),
        ('max_only', 13, {}, None, 0.0),
        ('inputs', 12, {}, -0.25, 0.25),
    ]
    for v, opset, attrs, lo, hi in clips:
        name = f'Clip_{v}_o{opset}'
        ins, inits = ['x'], []
        if lo is not None or hi is not None:
            ins.append('' if lo is None else 'lo')
            if lo is not None:
                inits.append(('lo', np.array(lo, np.float32)))
            if hi is not None:
                ins.append('hi')
                inits.append(('hi', np.array(hi, np.float32)))
        scale = 5.0 if v == 'relu6' else 1.5
        B.add(name, 'Clip', opset, N('Clip', ins, ['y'], **attrs), [('x', Rand(name).normal(*x, scale=scale))],
              inits=inits, compare='exact')
    name = 'Clip_int64_o13'
    B.add(name, 'Clip', 13, N('Clip', ['x', 'lo', 'hi'], ['y']), [('x', Rand(name).ints(-20, 20, 10))],
          inits=[('lo', np.array(-5, np.int64)), ('hi', np.array(5, np.int64))], outputs=[('y', 'i64')], compare='exact')


def maxmin_cases(B):
    for op in ('Max', 'Min'):
        for opset, v, shapes in ((13, 'one_input', [[2, 3]]), (13, 'two_same', [[2, 3, 4], [2, 3, 4]]),
                                 (13, 'three_broadcast', [[2, 3, 4], [3, 1], [4]]), (13, 'two_sided', [[3, 1], [1, 4]]),
                                 (8, 'three_broadcast', [[2, 3, 4], [3, 1], [4]]), (6, 'two_same', [[3, 4], [3, 4]]),
                                 (12, 'two_same', [[3, 4], [3, 4]])):
            name = f'{op}_{v}_o{opset}'
            r = Rand(name)
            names = [f'x{i}' for i in range(len(shapes))]
            B.add(name, op, opset, N(op, names, ['y']), [(n, r.normal(*s)) for n, s in zip(names, shapes)],
                  compare='exact')
        name = f'{op}_const_operand_o13'
        r = Rand(name)
        B.add(name, op, 13, N(op, ['x', 'c'], ['y']), [('x', r.normal(2, 3, 4))], inits=[('c', np.array(0.25, np.float32))],
              compare='exact')
        name = f'{op}_int64_o13'
        r = Rand(name)
        B.add(name, op, 13, N(op, ['a', 'b'], ['y']), [('a', r.ints(-9, 9, 6)), ('b', r.ints(-9, 9, 6))],
              outputs=[('y', 'i64')], compare='exact')


def compare_cases(B):
    for op, opsets in (('Equal', (11, 13, 19)), ('Less', (9, 13)), ('Greater', (9, 13))):
        for opset in opsets:
            variants = [('float', [2, 3, 4], [2, 3, 4], 'f'), ('broadcast', [3, 1], [1, 4], 'f'),
                        ('int64', [5], [5], 'i64'), ('int64_scalar', [6], [], 'i64')]
            if op == 'Equal':
                variants.append(('bool', [2, 4], [2, 4], 'b'))
            for v, ash, bsh, dt in variants:
                if opset != 13 and v not in ('float', 'int64'):
                    continue
                name = f'{op}_{v}_o{opset}'
                r = Rand(name)
                if dt == 'f':  # a coarse grid makes equal pairs likely
                    a, b = r.grid(0.5, -2, 2, *ash), r.grid(0.5, -2, 2, *bsh)
                elif dt == 'i64':
                    a, b = r.ints(-3, 3, *ash), r.ints(-3, 3, *bsh)
                else:
                    a, b = r.bools(*ash), r.bools(*bsh)
                B.add(name, op, opset, N(op, ['a', 'b'], ['y']), [('a', a), ('b', b)], outputs=[('y', 'b')],
                      compare='exact')
    for opset in (9, 16):
        for v, cs, xs, ys, dt in (('float', [2, 3], [2, 3], [2, 3], 'f'), ('broadcast', [3, 1], [1, 4], [], 'f'),
                                  ('int64', [4], [4], [4], 'i64')):
            if opset == 9 and v != 'float':
                continue
            name = f'Where_{v}_o{opset}'
            r = Rand(name)
            if dt == 'f':
                x, y = r.normal(*xs), r.normal(*ys)
            else:
                x, y = r.ints(-9, 9, *xs), r.ints(-9, 9, *ys)
            B.add(name, 'Where', opset, N('Where', ['c', 'x', 'y'], ['z']), [('c', r.bools(*cs)), ('x', x), ('y', y)],
                  outputs=[('z', dt)], compare='exact')
    # The attention-mask idiom: Where(mask, scores, -inf-ish constant).
    name = 'Where_mask_const_o13'
    r = Rand(name)
    B.add(name, 'Where', 13, N('Where', ['m', 'x', 'neg'], ['y']), [('m', r.bools(1, 1, 4, 4)), ('x', r.normal(1, 2, 4, 4))],
          inits=[('neg', np.array(-3.4028234663852886e38, np.float32))], compare='exact')


def gelu_cases(B):
    for v, attrs in (('default', {}), ('tanh', {'approximate': 'tanh'}), ('none', {'approximate': 'none'})):
        name = f'Gelu_{v}_o20'
        B.add(name, 'Gelu', 20, N('Gelu', ['x'], ['y'], **attrs), [('x', Rand(name).normal(2, 3, 16, scale=3.0))],
              compare='transcendental')
    # torch.onnx's erf form: x * 0.5 * (1 + erf(x / sqrt(2))).
    name = 'Gelu_decomposed_erf_o13'
    nodes = [N('Div', ['x', 'sqrt2'], ['t0']), N('Erf', ['t0'], ['t1']), N('Add', ['t1', 'one'], ['t2']),
             N('Mul', ['x', 't2'], ['t3']), N('Mul', ['t3', 'half'], ['y'])]
    B.add(name, 'Gelu', 13, nodes, [('x', Rand(name).normal(2, 3, 16, scale=3.0))],
          inits=[('sqrt2', np.array(SQRT2)), ('one', np.array(1.0, np.float32)), ('half', np.array(0.5, np.float32))],
          compare='transcendental', note='decomposed: Div, Erf, Add, Mul, Mul')
    # The tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    name = 'Gelu_decomposed_tanh_o13'
    nodes = [N('Pow', ['x', 'three'], ['p']), N('Mul', ['p', 'k'], ['q']), N('Add', ['x', 'q'], ['s']),
             N('Mul', ['s', 'c'], ['u']), N('Tanh', ['u'], ['t']), N('Add', ['t', 'one'], ['v']),
             N('Mul', ['x', 'v'], ['w']), N('Mul', ['w', 'half'], ['y'])]
    B.add(name, 'Gelu', 13, nodes, [('x', Rand(name).normal(2, 3, 16, scale=3.0))],
          inits=[('three', np.array(3.0, np.float32)), ('k', np.array(0.044715, np.float32)),
                 ('c', np.array(np.sqrt(2 / np.pi), np.float32)), ('one', np.array(1.0, np.float32)),
                 ('half', np.array(0.5, np.float32))],
          compare='transcendental', note='decomposed: Pow, Mul, Add, Mul, Tanh, Add, Mul, Mul')


def cases(B):
    binary_cases(B)
    unary_cases(B)
    activation_cases(B)
    maxmin_cases(B)
    compare_cases(B)
    gelu_cases(B)
