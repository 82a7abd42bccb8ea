"""Resize / Upsample and QuantizeLinear / DequantizeLinear."""
import numpy as np
from onnx import helper

from make_op_models import Rand, int4_initializer

N = helper.make_node
F32 = np.float32
EMPTY_F = np.zeros([0], F32)


def resize_cases(B):
    xs = [1, 3, 4, 5]
    # (variant, attrs, scales or None, sizes or None)
    variants = [
        ('nearest_default_up2', {'mode': 'nearest'}, [1, 1, 2, 2], None),
        ('nearest_asym_floor_up2', {'mode': 'nearest', 'coordinate_transformation_mode': 'asymmetric', 'nearest_mode': 'floor'}, [1, 1, 2, 2], None),
        ('nearest_asym_floor_up1.5', {'mode': 'nearest', 'coordinate_transformation_mode': 'asymmetric', 'nearest_mode': 'floor'}, [1, 1, 1.5, 1.5], None),
        ('nearest_half_pixel_prefer_ceil_down', {'mode': 'nearest', 'nearest_mode': 'round_prefer_ceil'}, [1, 1, 0.6, 0.6], None),
        ('nearest_half_pixel_prefer_floor_up3', {'mode': 'nearest', 'nearest_mode': 'round_prefer_floor'}, [1, 1, 3, 3], None),
        ('nearest_half_pixel_ceil_up2', {'mode': 'nearest', 'nearest_mode': 'ceil'}, [1, 1, 2, 2], None),
        ('nearest_align_corners_sizes', {'mode': 'nearest', 'coordinate_transformation_mode': 'align_corners'}, None, [1, 3, 7, 9]),
        ('nearest_pytorch_half_pixel_sizes', {'mode': 'nearest', 'coordinate_transformation_mode': 'pytorch_half_pixel', 'nearest_mode': 'floor'}, None, [1, 3, 8, 3]),
        ('nearest_asym_sizes_down', {'mode': 'nearest', 'coordinate_transformation_mode': 'asymmetric', 'nearest_mode': 'floor'}, None, [1, 3, 2, 3]),
        ('linear_half_pixel_up2', {'mode': 'linear'}, [1, 1, 2, 2], None),
        ('linear_half_pixel_down', {'mode': 'linear'}, [1, 1, 0.6, 0.6], None),
        ('linear_half_pixel_sizes', {'mode': 'linear'}, None, [1, 3, 7, 9]),
        ('linear_asymmetric_up2', {'mode': 'linear', 'coordinate_transformation_mode': 'asymmetric'}, [1, 1, 2, 2], None),
        ('linear_align_corners_sizes', {'mode': 'linear', 'coordinate_transformation_mode': 'align_corners'}, None, [1, 3, 7, 9]),
        ('linear_align_corners_up2', {'mode': 'linear', 'coordinate_transformation_mode': 'align_corners'}, [1, 1, 2, 2], None),
        ('linear_pytorch_half_pixel_up2', {'mode': 'linear', 'coordinate_transformation_mode': 'pytorch_half_pixel'}, [1, 1, 2, 2], None),
        ('linear_pytorch_half_pixel_to1', {'mode': 'linear', 'coordinate_transformation_mode': 'pytorch_half_pixel'}, None, [1, 3, 1, 8]),
        ('cubic_half_pixel_up2', {'mode': 'cubic'}, [1, 1, 2, 2], None),
        ('cubic_a-0.5_asymmetric', {'mode': 'cubic', 'cubic_coeff_a': -0.5, 'coordinate_transformation_mode': 'asymmetric'}, [1, 1, 2, 2], None),
        ('cubic_exclude_outside', {'mode': 'cubic', 'exclude_outside': 1}, [1, 1, 1.6, 1.6], None),
        ('cubic_align_corners_sizes', {'mode': 'cubic', 'coordinate_transformation_mode': 'align_corners'}, None, [1, 3, 6, 7]),
        ('cubic_half_pixel_down', {'mode': 'cubic'}, [1, 1, 0.75, 0.6], None),
    ]
    for opset, only in ((13, None), (11, ('linear_half_pixel_up2', 'nearest_asym_floor_up2', 'nearest_align_corners_sizes',
                                          'cubic_half_pixel_up2')), (18, ('linear_half_pixel_up2', 'nearest_asym_floor_up2')),
                        (19, ('linear_half_pixel_sizes',))):
        for v, attrs, scales, sizes in variants:
            if only and v not in only:
                continue
            name = f'Resize_{v}_o{opset}'
            inits = []
            if opset == 11:  # roi and scales are required inputs in opset 11
                ins = ['x', 'roi', 'scales'] + (['sizes'] if sizes else [])
                inits.append(('roi', EMPTY_F))
                inits.append(('scales', EMPTY_F if scales is None else np.array(scales, F32)))
            else:
                ins = ['x', '', 'scales'] if scales is not None else ['x', '', '', 'sizes']
                if scales is not None:
                    inits.append(('scales', np.array(scales, F32)))
            if sizes is not None:
                inits.append(('sizes', np.array(sizes, np.int64)))
            cmp = 'exact' if attrs['mode'] == 'nearest' else 'resize'
            B.add(name, 'Resize', opset, N('Resize', ins, ['y'], **attrs), [('x', Rand(name).normal(*xs))], inits=inits,
                  compare=cmp)
    # Opset 10: Resize(X, scales), asymmetric coordinates.
    for v, mode, scales in (('nearest_up2', 'nearest', [1, 1, 2, 2]), ('linear_up2', 'linear', [1, 1, 2, 2]),
                            ('nearest_down', 'nearest', [1, 1, 0.5, 0.5])):
        name = f'Resize_{v}_o10'
        B.add(name, 'Resize', 10, N('Resize', ['x', 'scales'], ['y'], mode=mode), [('x', Rand(name).normal(*xs))],
              inits=[('scales', np.array(scales, F32))], compare='exact' if mode == 'nearest' else 'resize')
    # Opset 18/19 additions.
    extra = [
        ('axes_scales', 18, ['x', '', 'scales'], {'mode': 'linear', 'axes': [2, 3]}, [('scales', np.array([2, 1.5], F32))]),
        ('axes_neg_sizes', 18, ['x', '', '', 'sizes'], {'mode': 'nearest', 'axes': [-1]}, [('sizes', np.array([10], np.int64))]),
        ('keep_aspect_not_larger', 18, ['x', '', '', 'sizes'], {'mode': 'linear', 'axes': [2, 3], 'keep_aspect_ratio_policy': 'not_larger'},
         [('sizes', np.array([8, 8], np.int64))]),
        ('keep_aspect_not_smaller', 18, ['x', '', '', 'sizes'], {'mode': 'nearest', 'axes': [2, 3], 'keep_aspect_ratio_policy': 'not_smaller'},
         [('sizes', np.array([8, 8], np.int64))]),
        ('antialias_linear_down', 18, ['x', '', 'scales'], {'mode': 'linear', 'antialias': 1}, [('scales', np.array([1, 1, 0.5, 0.4], F32))]),
        ('half_pixel_symmetric', 19, ['x', '', 'scales'], {'mode': 'linear', 'coordinate_transformation_mode': 'half_pixel_symmetric'},
         [('scales', np.array([1, 1, 1.5, 0.8], F32))]),
    ]
    for v, opset, ins, attrs, inits in extra:
        name = f'Resize_{v}_o{opset}'
        B.add(name, 'Resize', opset, N('Resize', ins, ['y'], **attrs), [('x', Rand(name).normal(*xs))], inits=inits,
              compare='exact' if attrs['mode'] == 'nearest' else 'resize')
    # Upsample: scales input (opset 9) or attribute (opset 7); asymmetric coordinates.
    for v, opset, mode, scales in (('nearest_up2', 9, 'nearest', [1, 1, 2, 2]), ('linear_up2', 9, 'linear', [1, 1, 2, 2]),
                                   ('nearest_up1.5x3', 9, 'nearest', [1, 1, 1.5, 3]), ('nearest_up2', 7, 'nearest', [1, 1, 2, 2]),
                                   ('linear_up2', 7, 'linear', [1, 1, 2, 2])):
        name = f'Upsample_{v}_o{opset}'
        if opset >= 9:
            node, inits = N('Upsample', ['x', 'scales'], ['y'], mode=mode), [('scales', np.array(scales, F32))]
        else:
            node, inits = N('Upsample', ['x'], ['y'], mode=mode, scales=[float(v) for v in scales]), []
        B.add(name, 'Upsample', opset, node, [('x', Rand(name).normal(*xs))], inits=inits,
              compare='exact' if mode == 'nearest' else 'resize')


def quant_cases(B):
    def s(v):
        return np.array(v, F32)

    # QuantizeLinear: (variant, opset, x maker, scale, zero point or None, axis, out elem)
    qs = [
        ('uint8_per_tensor', 10, lambda r: r.normal(2, 3, 4, scale=2.0), s(0.0213), np.array(128, np.uint8), None, 'u8'),
        ('uint8_per_tensor', 13, lambda r: r.normal(2, 3, 4, scale=2.0), s(0.0213), np.array(128, np.uint8), None, 'u8'),
        ('int8_per_tensor', 13, lambda r: r.normal(2, 3, 4, scale=2.0), s(0.0157), np.array(-3, np.int8), None, 'i8'),
        ('no_zero_point', 13, lambda r: r.normal(2, 3, 4), s(0.01), None, None, 'u8'),
        ('ties_half_to_even', 13, lambda r: r.grid(0.125, -3, 3, 40), s(0.25), np.array(10, np.uint8), None, 'u8'),
        ('saturate', 13, lambda r: r.normal(50, scale=100.0), s(0.1), np.array(0, np.int8), None, 'i8'),
        ('per_axis_axis1_int8', 13, lambda r: r.normal(1, 4, 3, 3), np.array([0.01, 0.02, 0.005, 0.03], F32),
         np.array([0, 1, -2, 3], np.int8), 1, 'i8'),
        ('per_axis_axis0_uint8', 13, lambda r: r.normal(3, 5), np.array([0.02, 0.01, 0.015], F32),
         np.array([128, 120, 135], np.uint8), 0, 'u8'),
        ('uint8_per_tensor', 19, lambda r: r.normal(2, 3, 4, scale=2.0), s(0.0213), np.array(128, np.uint8), None, 'u8'),
        ('uint8_per_tensor', 21, lambda r: r.normal(2, 3, 4, scale=2.0), s(0.0213), np.array(128, np.uint8), None, 'u8'),
        ('int16_per_tensor', 21, lambda r: r.normal(2, 3, 4, scale=2.0), s(1.3e-4), np.array(-5, np.int16), None, 'i16'),
        ('uint16_per_tensor', 21, lambda r: r.normal(2, 3, 4, scale=2.0), s(1e-4), np.array(32768, np.uint16), None, 'u16'),
        ('int16_per_axis', 21, lambda r: r.normal(1, 3, 2, 2), np.array([1e-4, 2e-4, 5e-5], F32), np.array([0, 7, -7], np.int16), 1, 'i16'),
        ('uint16_saturate', 21, lambda r: r.normal(20, scale=10.0), s(1e-4), np.array(0, np.uint16), None, 'u16'),
    ]
    for v, opset, make, scale, zp, axis, elem in qs:
        name = f'QuantizeLinear_{v}_o{opset}'
        ins, inits = ['x', 'scale'], [('scale', scale)]
        if zp is not None:
            ins.append('zp')
            inits.append(('zp', zp))
        attrs = {} if axis is None else {'axis': axis}
        B.add(name, 'QuantizeLinear', opset, N('QuantizeLinear', ins, ['y'], **attrs), [('x', make(Rand(name)))], inits=inits,
              outputs=[('y', elem)], compare='exact')
    # DequantizeLinear with a quantized graph input: (variant, opset, x, scale, zp, axis)
    r = Rand('DequantizeLinear')
    dqs = [
        ('uint8_per_tensor', 10, r.ints(0, 255, 2, 3, 4, dtype=np.uint8), s(0.0213), np.array(128, np.uint8), None),
        ('uint8_per_tensor', 13, r.ints(0, 255, 2, 3, 4, dtype=np.uint8), s(0.0213), np.array(128, np.uint8), None),
        ('int8_per_tensor', 13, r.ints(-128, 127, 2, 3, 4, dtype=np.int8), s(0.0157), np.array(-3, np.int8), None),
        ('no_zero_point', 13, r.ints(0, 255, 10, dtype=np.uint8), s(0.05), None, None),
        ('uint8_per_tensor', 21, r.ints(0, 255, 2, 3, 4, dtype=np.uint8), s(0.0213), np.array(128, np.uint8), None),
        ('int16_per_tensor', 21, r.ints(-32768, 32767, 2, 3, 4, dtype=np.int16), s(1.3e-4), np.array(-5, np.int16), None),
        ('uint16_per_tensor', 21, r.ints(0, 65535, 2, 3, 4, dtype=np.uint16), s(1e-4), np.array(32768, np.uint16), None),
    ]
    for v, opset, x, scale, zp, axis in dqs:
        name = f'DequantizeLinear_{v}_o{opset}'
        ins, inits = ['x', 'scale'], [('scale', scale)]
        if zp is not None:
            ins.append('zp')
            inits.append(('zp', zp))
        B.add(name, 'DequantizeLinear', opset, N('DequantizeLinear', ins, ['y']), [('x', x)], inits=inits, compare='elementwise')
    # DequantizeLinear of constant weights (the QDQ export of a conv/matmul weight): no graph input.
    weights = [
        ('per_axis_axis0_int8', 13, r.ints(-127, 127, 8, 4, 3, 3, dtype=np.int8), r.uniform(0.001, 0.02, 8), np.zeros(8, np.int8), {'axis': 0}),
        ('per_axis_axis1_int8', 13, r.ints(-127, 127, 4, 6, dtype=np.int8), r.uniform(0.001, 0.02, 6), np.zeros(6, np.int8), {}),
        ('int32_bias', 13, r.ints(-100000, 100000, 6, dtype=np.int32), s(2.5e-5), None, {}),
        ('blocked_int8', 21, r.ints(-127, 127, 3, 8, dtype=np.int8), r.uniform(0.001, 0.02, 3, 2), None, {'axis': 1, 'block_size': 4}),
    ]
    for v, opset, w, scale, zp, attrs in weights:
        name = f'DequantizeLinear_{v}_o{opset}'
        ins, inits = ['w', 'scale'], [('w', w), ('scale', scale)]
        if zp is not None:
            ins.append('zp')
            inits.append(('zp', zp))
        B.add(name, 'DequantizeLinear', opset, N('DequantizeLinear', ins, ['y'], **attrs), [], inits=inits, compare='elementwise')
    # 4-bit weights (opset 21, IR 10): packed initializers; 4-bit tensors cannot be graph inputs or
    # outputs in ORT's JS API, so they only appear inside the graph.
    w4 = r.ints(-8, 7, 8, 6)
    name = 'DequantizeLinear_int4_per_axis_o21'
    B.add(name, 'DequantizeLinear', 21, N('DequantizeLinear', ['w', 'scale', 'zp'], ['y'], axis=0), [],
          inits=[('w', int4_initializer('w', w4, True)), ('scale', r.uniform(0.01, 0.1, 8)),
                 ('zp', int4_initializer('zp', np.zeros(8, np.int64), True))], compare='elementwise')
    name = 'DequantizeLinear_uint4_per_tensor_o21'
    B.add(name, 'DequantizeLinear', 21, N('DequantizeLinear', ['w', 'scale', 'zp'], ['y']), [],
          inits=[('w', int4_initializer('w', r.ints(0, 15, 5, 3), False)), ('scale', s(0.05)),
                 ('zp', int4_initializer('zp', np.array(8), False))], compare='elementwise')
    name = 'DequantizeLinear_int4_blocked_o21'
    B.add(name, 'DequantizeLinear', 21, N('DequantizeLinear', ['w', 'scale'], ['y'], axis=0, block_size=8), [],
          inits=[('w', int4_initializer('w', r.ints(-8, 7, 16, 4), True)), ('scale', r.uniform(0.01, 0.1, 2, 4))],
          compare='elementwise')
    # Q -> DQ chains (fake quantization, what the simulation computes).
    chains = [
        ('uint8_per_tensor', 13, s(0.0213), np.array(128, np.uint8), None),
        ('int8_per_axis', 13, np.array([0.01, 0.02, 0.005], F32), np.array([0, 2, -1], np.int8), 1),
        ('int16_per_tensor', 21, s(2e-4), np.array(0, np.int16), None),
        ('int4_per_tensor', 21, s(0.2), int4_initializer('zp', np.array(0), True), None),
        ('uint4_per_tensor', 21, s(0.2), int4_initializer('zp', np.array(7), False), None),
    ]
    for v, opset, scale, zp, axis in chains:
        name = f'QuantizeLinear_dq_chain_{v}_o{opset}'
        attrs = {} if axis is None else {'axis': axis}
        nodes = [N('QuantizeLinear', ['x', 'scale', 'zp'], ['q'], **attrs), N('DequantizeLinear', ['q', 'scale', 'zp'], ['y'], **attrs)]
        B.add(name, 'QuantizeLinear', opset, nodes, [('x', Rand(name).normal(2, 3, 4, scale=1.5))],
              inits=[('scale', scale), ('zp', zp)], compare='elementwise', note='QuantizeLinear -> DequantizeLinear')


def cases(B):
    resize_cases(B)
    quant_cases(B)
