"""Layers and normalizations: Conv, ConvTranspose, Gemm, MatMul, pooling, normalizations,
Softmax/LogSoftmax."""
import numpy as np
from onnx import helper

from make_op_models import Rand

N = helper.make_node


def conv_cases(B):
    # (variant, x shape, w shape (M, C/g, kh, kw), attrs, bias)
    variants = [
        ('k3_bias', [1, 4, 9, 9], [6, 4, 3, 3], {}, True),
        ('k3_nobias', [1, 4, 9, 9], [6, 4, 3, 3], {}, False),
        ('pads1', [1, 4, 9, 9], [6, 4, 3, 3], {'pads': [1, 1, 1, 1]}, True),
        ('pads_asym', [1, 4, 9, 9], [6, 4, 3, 3], {'pads': [0, 1, 2, 1]}, True),
        ('stride2_pads1', [1, 4, 9, 9], [6, 4, 3, 3], {'strides': [2, 2], 'pads': [1, 1, 1, 1]}, True),
        ('stride2x1', [1, 4, 9, 9], [6, 4, 3, 3], {'strides': [2, 1]}, True),
        ('stride3_k2', [1, 4, 10, 10], [6, 4, 2, 2], {'strides': [3, 3]}, True),
        ('k1_stride2', [1, 4, 9, 9], [6, 4, 1, 1], {'strides': [2, 2]}, True),
        ('dilation2', [1, 4, 9, 9], [6, 4, 3, 3], {'dilations': [2, 2]}, True),
        ('dilation1x2_pads', [1, 4, 9, 9], [6, 4, 3, 3], {'dilations': [1, 2], 'pads': [1, 2, 1, 2]}, True),
        ('groups2', [1, 4, 9, 9], [6, 2, 3, 3], {'group': 2}, True),
        ('groups4_k1', [1, 8, 5, 5], [8, 2, 1, 1], {'group': 4}, False),
        ('depthwise', [1, 4, 9, 9], [4, 1, 3, 3], {'group': 4, 'pads': [1, 1, 1, 1]}, True),
        ('depthwise_mult2', [1, 4, 9, 9], [8, 1, 3, 3], {'group': 4}, True),
        ('depthwise_stride2', [1, 6, 8, 8], [6, 1, 3, 3], {'group': 6, 'strides': [2, 2], 'pads': [1, 1, 1, 1]}, True),
        ('same_upper_k3', [1, 4, 9, 9], [6, 4, 3, 3], {'auto_pad': 'SAME_UPPER'}, True),
        ('same_upper_k4_s2', [1, 4, 9, 9], [6, 4, 4, 4], {'auto_pad': 'SAME_UPPER', 'strides': [2, 2]}, True),
        ('same_lower_k4_s2', [1, 4, 9, 9], [6, 4, 4, 4], {'auto_pad': 'SAME_LOWER', 'strides': [2, 2]}, True),
        ('same_lower_k2', [1, 4, 9, 9], [6, 4, 2, 2], {'auto_pad': 'SAME_LOWER'}, True),
        ('valid_s2', [1, 4, 9, 9], [6, 4, 3, 3], {'auto_pad': 'VALID', 'strides': [2, 2]}, True),
        ('k1x1', [1, 8, 6, 6], [5, 8, 1, 1], {}, True),
        ('k3x1', [1, 4, 9, 9], [6, 4, 3, 1], {'pads': [1, 0, 1, 0]}, True),
        ('k1x5', [1, 4, 9, 9], [6, 4, 1, 5], {}, True),
        ('batch2', [2, 4, 7, 7], [6, 4, 3, 3], {'pads': [1, 1, 1, 1]}, True),
        ('no_kernel_shape_attr', [1, 4, 9, 9], [6, 4, 3, 3], {'_no_kernel_shape': True}, True),
        ('wide_c32', [1, 32, 12, 12], [48, 32, 3, 3], {'pads': [1, 1, 1, 1]}, True),
        ('conv1d', [1, 3, 16], [5, 3, 3], {'pads': [1, 1], 'strides': [2]}, True),
        ('conv1d_dilated', [2, 3, 16], [5, 3, 3], {'dilations': [3]}, False),
        ('conv3d', [1, 2, 5, 6, 6], [3, 2, 3, 3, 3], {'pads': [1, 1, 1, 1, 1, 1]}, True),
    ]
    for opset, only in ((11, None), (1, 'k3_bias'), (13, 'stride2_pads1'), (22, 'k3_bias')):
        for v, xs, ws, attrs, bias in variants:
            if only and v != only:
                continue
            name = f'Conv_{v}_o{opset}'
            r = Rand(name)
            attrs = dict(attrs)
            if not attrs.pop('_no_kernel_shape', False):
                attrs['kernel_shape'] = ws[2:]
            x = r.normal(*xs)
            w = r.normal(*ws, scale=1 / np.sqrt(np.prod(ws[1:])))
            ins = ['x', 'w'] + (['b'] if bias else [])
            inits = [('w', w)] + ([('b', r.normal(ws[0]))] if bias else [])
            B.add(name, 'Conv', opset, N('Conv', ins, ['y'], **attrs), [('x', x)], inits=inits,
                  compare='accumulate')
    # Weights as a graph input rather than an initializer.
    name = 'Conv_weight_input_o13'
    r = Rand(name)
    B.add(name, 'Conv', 13, N('Conv', ['x', 'w'], ['y'], pads=[1, 1, 1, 1]),
          [('x', r.normal(1, 3, 6, 6)), ('w', r.normal(4, 3, 3, 3, scale=0.2))], compare='accumulate')


def conv_transpose_cases(B):
    # (variant, x shape, w shape (C, M/g, kh, kw), attrs, bias)
    variants = [
        ('k3', [1, 4, 5, 5], [4, 3, 3, 3], {}, True),
        ('k3_nobias', [1, 4, 5, 5], [4, 3, 3, 3], {}, False),
        ('s2', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2]}, True),
        ('s2_pads1', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2], 'pads': [1, 1, 1, 1]}, True),
        ('s2_pads1_outpad1', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2], 'pads': [1, 1, 1, 1], 'output_padding': [1, 1]}, True),
        ('k4_s2_pads1', [1, 4, 5, 5], [4, 2, 4, 4], {'strides': [2, 2], 'pads': [1, 1, 1, 1]}, True),
        ('pads_asym', [1, 4, 5, 5], [4, 3, 3, 3], {'pads': [0, 1, 1, 0]}, True),
        ('s2x1_k3x1', [1, 4, 5, 5], [4, 3, 3, 1], {'strides': [2, 1]}, True),
        ('dilation2', [1, 4, 5, 5], [4, 3, 3, 3], {'dilations': [2, 2]}, True),
        ('groups2', [1, 4, 5, 5], [4, 3, 3, 3], {'group': 2}, True),
        ('depthwise', [1, 4, 5, 5], [4, 1, 3, 3], {'group': 4, 'strides': [2, 2]}, True),
        ('output_shape', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2], 'output_shape': [10, 10]}, True),
        ('output_shape_odd', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2], 'output_shape': [11, 11]}, True),
        ('same_upper_s2', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2], 'auto_pad': 'SAME_UPPER'}, True),
        ('same_lower_s2', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2], 'auto_pad': 'SAME_LOWER'}, True),
        ('valid_s2', [1, 4, 5, 5], [4, 3, 3, 3], {'strides': [2, 2], 'auto_pad': 'VALID'}, True),
        ('batch2', [2, 4, 4, 4], [4, 3, 3, 3], {'strides': [2, 2]}, True),
        ('convtranspose1d', [1, 3, 8], [3, 2, 4], {'strides': [2], 'pads': [1, 1]}, True),
    ]
    for opset, only in ((11, None), (1, 's2'), (13, 's2_pads1_outpad1'), (22, 's2')):
        for v, xs, ws, attrs, bias in variants:
            if only and v != only:
                continue
            name = f'ConvTranspose_{v}_o{opset}'
            r = Rand(name)
            g = attrs.get('group', 1)
            x = r.normal(*xs)
            w = r.normal(*ws, scale=1 / np.sqrt(ws[0] * np.prod(ws[2:])))
            inits = [('w', w)] + ([('b', r.normal(ws[1] * g))] if bias else [])
            ins = ['x', 'w'] + (['b'] if bias else [])
            B.add(name, 'ConvTranspose', opset,
                  N('ConvTranspose', ins, ['y'], kernel_shape=ws[2:], **attrs), [('x', x)], inits=inits,
                  compare='accumulate')


def gemm_cases(B):
    M, K, Nn = 3, 5, 4
    # (variant, transA, transB, alpha, beta, C shape or None, B as input)
    variants = [
        ('noC', 0, 0, None, None, None, False),
        ('transA', 1, 0, None, None, [Nn], False),
        ('transB', 0, 1, None, None, [Nn], False),
        ('transA_transB', 1, 1, None, None, [Nn], False),
        ('alpha_beta', 0, 1, 0.5, 2.0, [Nn], False),
        ('C_1xN', 0, 0, None, None, [1, Nn], False),
        ('C_Mx1', 0, 0, None, None, [M, 1], False),
        ('C_MxN', 0, 0, None, None, [M, Nn], False),
        ('C_scalar', 0, 0, None, None, [], False),
        ('C_1', 0, 0, 1.5, 0.25, [1], False),
        ('B_input', 0, 1, None, None, [Nn], True),
    ]
    for opset, only in ((13, None), (7, 'transB'), (9, 'C_Mx1'), (11, 'noC')):
        for v, ta, tb, alpha, beta, cshape, b_input in variants:
            if only and v != only:
                continue
            name = f'Gemm_{v}_o{opset}'
            r = Rand(name)
            a = r.normal(*([K, M] if ta else [M, K]))
            b = r.normal(*([Nn, K] if tb else [K, Nn]))
            attrs = {k: val for k, val in (('transA', ta), ('transB', tb), ('alpha', alpha), ('beta', beta))
                     if val not in (None, 0)}
            ins, inputs, inits = ['a', 'b'], [('a', a)], []
            (inputs if b_input else inits).append(('b', b))
            if cshape is not None:
                ins.append('c')
                inits.append(('c', r.normal(*cshape)))
            B.add(name, 'Gemm', opset, N('Gemm', ins, ['y'], **attrs), inputs, inits=inits, compare='accumulate')
    name = 'Gemm_large_k256_o13'
    r = Rand(name)
    B.add(name, 'Gemm', 13, N('Gemm', ['a', 'b', 'c'], ['y'], transB=1), [('a', r.normal(2, 256))],
          inits=[('b', r.normal(40, 256, scale=1 / 16)), ('c', r.normal(40))], compare='accumulate')


def matmul_cases(B):
    # (variant, a shape, b shape, b is an initializer)
    variants = [
        ('2d', [3, 5], [5, 4], True),
        ('2d_inputs', [3, 5], [5, 4], False),
        ('batched', [2, 3, 5], [2, 5, 4], False),
        ('broadcast_batch', [2, 1, 3, 5], [4, 5, 6], False),
        ('3d_x_2d_weight', [2, 7, 5], [5, 4], True),
        ('1d_x_2d', [5], [5, 4], True),
        ('2d_x_1d', [3, 5], [5], True),
        ('1d_x_1d', [5], [5], False),
        ('1d_x_3d', [5], [2, 5, 4], False),
        ('3d_x_1d', [2, 3, 5], [5], False),
        ('4d_attention', [1, 2, 6, 8], [1, 2, 8, 6], False),
        ('large_k256', [4, 256], [256, 24], True),
    ]
    for opset, only in ((13, None), (9, '2d'), (1, 'batched')):
        for v, ash, bsh, b_init in variants:
            if only and v != only:
                continue
            name = f'MatMul_{v}_o{opset}'
            r = Rand(name)
            a = r.normal(*ash)
            b = r.normal(*bsh, scale=1 / np.sqrt(bsh[0] if len(bsh) == 1 else bsh[-2]))
            inputs, inits = [('a', a)], []
            (inits if b_init else inputs).append(('b', b))
            B.add(name, 'MatMul', opset, N('MatMul', ['a', 'b'], ['y']), inputs, inits=inits, compare='accumulate')


def pool_cases(B):
    # AveragePool: (variant, opset, x shape, attrs)
    avg = [
        ('k2_s2', 11, [1, 3, 8, 8], {'kernel_shape': [2, 2], 'strides': [2, 2]}),
        ('k3_pads1_exclude', 11, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1]}),
        ('k3_pads1_include', 11, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1], 'count_include_pad': 1}),
        ('k3_s2_ceil', 11, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'ceil_mode': 1}),
        ('k3_s2_ceil_pads_exclude', 11, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'pads': [1, 1, 1, 1], 'ceil_mode': 1}),
        ('k3_s2_ceil_pads_include', 11, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'pads': [1, 1, 1, 1], 'ceil_mode': 1, 'count_include_pad': 1}),
        ('pads_asym', 11, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'pads': [0, 1, 1, 0]}),
        ('same_upper_s2', 11, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'strides': [2, 2], 'auto_pad': 'SAME_UPPER'}),
        ('same_lower_k2', 11, [1, 3, 7, 7], {'kernel_shape': [2, 2], 'auto_pad': 'SAME_LOWER'}),
        ('valid_s2', 11, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'strides': [2, 2], 'auto_pad': 'VALID'}),
        ('k3x1', 11, [1, 3, 7, 7], {'kernel_shape': [3, 1]}),
        ('pool1d', 11, [2, 3, 10], {'kernel_shape': [3], 'strides': [2], 'pads': [1, 1]}),
        ('k2_s2', 7, [1, 3, 8, 8], {'kernel_shape': [2, 2], 'strides': [2, 2]}),
        ('k3_s2_ceil', 10, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'ceil_mode': 1}),
        ('k3_pads1_exclude', 13, [2, 3, 7, 7], {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1]}),
        ('dilation2', 19, [1, 3, 9, 9], {'kernel_shape': [3, 3], 'dilations': [2, 2]}),
        ('k2_s2', 22, [1, 3, 8, 8], {'kernel_shape': [2, 2], 'strides': [2, 2]}),
    ]
    for v, opset, xs, attrs in avg:
        name = f'AveragePool_{v}_o{opset}'
        B.add(name, 'AveragePool', opset, N('AveragePool', ['x'], ['y'], **attrs), [('x', Rand(name).normal(*xs))],
              compare='accumulate')
    mx = [
        ('k2_s2', 12, [1, 3, 8, 8], {'kernel_shape': [2, 2], 'strides': [2, 2]}),
        ('k3_pads1', 12, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1]}),
        ('k3_s2_pads1', 12, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'pads': [1, 1, 1, 1]}),
        ('k3_s2_ceil', 12, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'ceil_mode': 1}),
        ('k2_s2_ceil_odd', 12, [1, 3, 7, 7], {'kernel_shape': [2, 2], 'strides': [2, 2], 'ceil_mode': 1}),
        ('dilation2', 12, [1, 3, 9, 9], {'kernel_shape': [3, 3], 'dilations': [2, 2]}),
        ('storage_order0', 12, [1, 3, 6, 6], {'kernel_shape': [2, 2], 'strides': [2, 2], 'storage_order': 0}),
        ('pads_asym', 12, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'pads': [1, 0, 0, 2]}),
        ('same_upper_s2', 12, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'strides': [2, 2], 'auto_pad': 'SAME_UPPER'}),
        ('same_lower_k2', 12, [1, 3, 7, 7], {'kernel_shape': [2, 2], 'auto_pad': 'SAME_LOWER'}),
        ('valid_s2', 12, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'strides': [2, 2], 'auto_pad': 'VALID'}),
        ('negative_input', 12, [1, 3, 7, 7], {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1], '_neg': True}),
        ('pool1d', 12, [2, 3, 10], {'kernel_shape': [3], 'strides': [2]}),
        ('k2_s2', 8, [1, 3, 8, 8], {'kernel_shape': [2, 2], 'strides': [2, 2]}),
        ('k3_s2_ceil', 10, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'ceil_mode': 1}),
        ('dilation2', 11, [1, 3, 9, 9], {'kernel_shape': [3, 3], 'dilations': [2, 2]}),
        ('k3_s2_pads1', 22, [1, 3, 8, 8], {'kernel_shape': [3, 3], 'strides': [2, 2], 'pads': [1, 1, 1, 1]}),
    ]
    for v, opset, xs, attrs in mx:
        name = f'MaxPool_{v}_o{opset}'
        attrs = dict(attrs)
        x = Rand(name).normal(*xs)
        if attrs.pop('_neg', False):
            x = -np.abs(x) - 1  # all negative: padding must not leak zeros into the max
        B.add(name, 'MaxPool', opset, N('MaxPool', ['x'], ['y'], **attrs), [('x', x)], compare='exact')
    for op, cmp in (('GlobalAveragePool', 'accumulate'), ('GlobalMaxPool', 'exact')):
        for v, opset, xs in (('4d', 13, [2, 3, 5, 7]), ('3d', 13, [2, 3, 9]), ('large_hw', 13, [1, 4, 32, 32]),
                             ('4d', 1, [1, 3, 4, 4]), ('4d', 22, [1, 3, 4, 4])):
            name = f'{op}_{v}_o{opset}'
            B.add(name, op, opset, N(op, ['x'], ['y']), [('x', Rand(name).normal(*xs))], compare=cmp)


def norm_cases(B):
    for opset in (7, 9, 14, 15):
        for v, xs, eps in (('4d', [2, 3, 4, 5], None), ('2d', [4, 3], None), ('3d', [2, 3, 7], None),
                           ('eps1e-3', [1, 3, 4, 4], 1e-3)):
            if opset != 15 and v != '4d':
                continue
            name = f'BatchNormalization_{v}_o{opset}'
            r = Rand(name)
            c = xs[1]
            attrs = {} if eps is None else {'epsilon': eps}
            B.add(name, 'BatchNormalization', opset,
                  N('BatchNormalization', ['x', 's', 'bias', 'mean', 'var'], ['y'], **attrs),
                  [('x', r.normal(*xs, scale=2.0) + 0.5)],
                  inits=[('s', r.normal(c)), ('bias', r.normal(c)), ('mean', r.normal(c)), ('var', r.uniform(0.5, 2, c))],
                  compare='accumulate')  # folded (x*a + c) vs unfolded formulas differ by cancellation
    for opset in (6, 22):
        for v, xs, eps in (('4d', [2, 3, 4, 5], None), ('3d', [2, 3, 9], None), ('eps1e-2', [1, 2, 3, 3], 1e-2)):
            if opset == 22 and v != '4d':
                continue
            name = f'InstanceNormalization_{v}_o{opset}'
            r = Rand(name)
            attrs = {} if eps is None else {'epsilon': eps}
            B.add(name, 'InstanceNormalization', opset,
                  N('InstanceNormalization', ['x', 's', 'b'], ['y'], **attrs),
                  [('x', r.normal(*xs, scale=3.0) + 1)], inits=[('s', r.normal(xs[1])), ('b', r.normal(xs[1]))],
                  compare='accumulate')
    # LayerNormalization (opset 17): scale/bias have the shape of the normalized dims.
    for v, xs, axis, bias, eps in (('last_axis', [2, 3, 8], -1, True, None), ('axis1', [2, 3, 4], 1, True, None),
                                   ('axis_neg2', [2, 3, 4], -2, True, None), ('nobias', [2, 5, 16], -1, False, None),
                                   ('eps1e-3', [4, 6], -1, True, 1e-3), ('default_axis', [3, 10], None, True, None),
                                   ('large_offset', [2, 64], -1, True, None)):
        name = f'LayerNormalization_{v}_o17'
        r = Rand(name)
        ax = -1 if axis is None else axis
        nshape = xs[ax:] if ax != 0 else xs
        attrs = {k: val for k, val in (('axis', axis), ('epsilon', eps)) if val is not None}
        x = r.normal(*xs, scale=2.0) + (50 if v == 'large_offset' else 0.3)
        inits = [('s', r.normal(*nshape))] + ([('b', r.normal(*nshape))] if bias else [])
        B.add(name, 'LayerNormalization', 17,
              N('LayerNormalization', ['x', 's'] + (['b'] if bias else []), ['y'], **attrs), [('x', x)],
              inits=inits, compare='accumulate')


def softmax_cases(B):
    # Opset < 13 coerces the input to 2-D at `axis` (softmax over all trailing dims together);
    # opset 13 normalizes along the single axis. Same inputs, different answers.
    for op in ('Softmax', 'LogSoftmax'):
        for opset, v, xs, axis in ((11, 'axis1_3d', [2, 3, 4], 1), (11, 'default_axis_3d', [2, 3, 4], None),
                                   (11, 'axis_last', [2, 3, 4], -1), (11, 'axis0', [2, 3, 4], 0),
                                   (11, '2d', [3, 7], 1), (1, 'axis1_4d', [2, 3, 2, 2], 1),
                                   (13, 'axis1_3d', [2, 3, 4], 1), (13, 'default_axis_3d', [2, 3, 4], None),
                                   (13, 'axis0', [2, 3, 4], 0), (13, 'axis_neg1_4d', [2, 3, 4, 5], -1),
                                   (13, 'axis2_4d', [2, 3, 4, 5], 2), (13, 'large_logits', [2, 50], -1),
                                   (13, '1d', [9], 0)):
            name = f'{op}_{v}_o{opset}'
            r = Rand(name)
            x = r.normal(*xs, scale=30.0 if v == 'large_logits' else 2.0)
            attrs = {} if axis is None else {'axis': axis}
            B.add(name, op, opset, N(op, ['x'], ['y'], **attrs), [('x', x)], compare='transcendental')


def cases(B):
    conv_cases(B)
    conv_transpose_cases(B)
    gemm_cases(B)
    matmul_cases(B)
    pool_cases(B)
    norm_cases(B)
    softmax_cases(B)
