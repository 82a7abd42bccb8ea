"""Data movement, shape computation and reductions: Reshape, Flatten, Transpose, Squeeze,
Unsqueeze, Concat, Split, Slice, Gather, Shape, Size, Constant, ConstantOfShape, Cast, Identity,
Dropout, Expand, Tile, Pad, Range, ReduceMean/Sum/Max/Min."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from make_op_models import Rand

N = helper.make_node
I64 = np.int64
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def i64(*v):
    return np.array(v, I64)


def reshape_cases(B):
    for opset, v, xs, shape, attrs in (
            (13, 'zero_minus1', [2, 3, 4], [0, -1], {}), (13, 'flatten_all', [2, 3, 4], [-1], {}),
            (13, 'copy_middle_dim', [2, 3, 4], [4, 0, 2], {}), (13, 'split_dims', [2, 3, 4], [2, 3, 2, 2], {}),
            (13, 'to_scalar_like', [1, 1, 1], [1], {}), (5, 'zero_minus1', [2, 3, 4], [0, -1], {}),
            (14, 'allowzero_no_zeros', [2, 3, 4], [6, -1], {'allowzero': 1}),
            (14, 'allowzero_empty', [0, 3], [3, 0], {'allowzero': 1}),
            (14, 'zero_copies_default', [2, 3, 4], [0, 0, -1], {}), (21, 'zero_minus1', [2, 3, 4], [0, -1], {})):
        name = f'Reshape_{v}_o{opset}'
        B.add(name, 'Reshape', opset, N('Reshape', ['x', 'shape'], ['y'], **attrs), [('x', Rand(name).normal(*xs))],
              inits=[('shape', i64(*shape))], compare='exact')
    name = 'Reshape_shape_input_o13'
    B.add(name, 'Reshape', 13, N('Reshape', ['x', 'shape'], ['y']), [('x', Rand(name).normal(2, 6)), ('shape', i64(3, -1))],
          compare='exact', note='shape is a runtime int64 input')
    for opset, axis in ((13, None), (13, 0), (13, 2), (13, -1), (13, 4), (9, 1), (11, -2), (1, 1), (21, 2)):
        name = f'Flatten_axis{"default" if axis is None else axis}_o{opset}'
        attrs = {} if axis is None else {'axis': axis}
        B.add(name, 'Flatten', opset, N('Flatten', ['x'], ['y'], **attrs), [('x', Rand(name).normal(2, 3, 4, 5))],
              compare='exact')
    for opset, v, xs, perm in ((13, 'default_reverse', [2, 3, 4], None), (13, 'nchw_to_nhwc', [1, 3, 4, 5], [0, 2, 3, 1]),
                               (13, 'nhwc_to_nchw', [1, 4, 5, 3], [0, 3, 1, 2]), (13, '2d', [3, 7], [1, 0]),
                               (13, 'heads', [2, 5, 3, 4], [0, 2, 1, 3]), (13, '5d', [2, 1, 3, 2, 2], [4, 2, 0, 3, 1]),
                               (1, 'nchw_to_nhwc', [1, 3, 4, 5], [0, 2, 3, 1]), (21, '2d', [3, 7], [1, 0])):
        name = f'Transpose_{v}_o{opset}'
        attrs = {} if perm is None else {'perm': perm}
        B.add(name, 'Transpose', opset, N('Transpose', ['x'], ['y'], **attrs), [('x', Rand(name).normal(*xs))],
              compare='exact')
    name = 'Transpose_int64_o13'
    B.add(name, 'Transpose', 13, N('Transpose', ['x'], ['y'], perm=[1, 0]), [('x', Rand(name).ints(0, 99, 2, 3))],
          outputs=[('y', 'i64')], compare='exact')


def squeeze_cases(B):
    # Opset < 13: axes attribute; opset >= 13: optional axes input.
    for v, opset, xs, axes in (('axis1', 11, [2, 1, 3, 1], [1]), ('neg_axis', 11, [2, 1, 3, 1], [-1]),
                               ('all_ones', 11, [1, 3, 1, 2], None), ('axis1', 1, [2, 1, 3], [1]),
                               ('axes_1_3', 13, [2, 1, 3, 1], [1, 3]), ('neg_axis', 13, [2, 1, 3, 1], [-3]),
                               ('all_ones', 13, [1, 3, 1, 2], None), ('to_scalar', 13, [1, 1], None),
                               ('axes_1_3', 21, [2, 1, 3, 1], [1, 3])):
        name = f'Squeeze_{v}_o{opset}'
        x = Rand(name).normal(*xs)
        if opset < 13:
            attrs = {} if axes is None else {'axes': axes}
            B.add(name, 'Squeeze', opset, N('Squeeze', ['x'], ['y'], **attrs), [('x', x)], compare='exact')
        else:
            ins, inits = (['x'], []) if axes is None else (['x', 'axes'], [('axes', i64(*axes))])
            B.add(name, 'Squeeze', opset, N('Squeeze', ins, ['y']), [('x', x)], inits=inits, compare='exact')
    for v, opset, xs, axes in (('axis0', 11, [3, 4], [0]), ('axes_1_neg1', 11, [3, 4], [1, -1]),
                               ('unsorted', 11, [3, 4], [3, 0]), ('axis0', 1, [3, 4], [0]),
                               ('axis0', 13, [3, 4], [0]), ('unsorted', 13, [3, 4], [2, 0]),
                               ('neg', 13, [3, 4], [-1]), ('scalar_input', 13, [], [0]),
                               ('axis0', 21, [3, 4], [0])):
        name = f'Unsqueeze_{v}_o{opset}'
        x = Rand(name).normal(*xs)
        if opset < 13:
            B.add(name, 'Unsqueeze', opset, N('Unsqueeze', ['x'], ['y'], axes=axes), [('x', x)], compare='exact')
        else:
            B.add(name, 'Unsqueeze', opset, N('Unsqueeze', ['x', 'axes'], ['y']), [('x', x)],
                  inits=[('axes', i64(*axes))], compare='exact')
    name = 'Unsqueeze_int64_scalar_o13'
    B.add(name, 'Unsqueeze', 13, N('Unsqueeze', ['x', 'axes'], ['y']), [('x', np.array(7, I64))],
          inits=[('axes', i64(0))], outputs=[('y', 'i64')], compare='exact', note='the Shape->Gather->Unsqueeze idiom')


def concat_split_cases(B):
    for opset, v, shapes, axis in ((13, 'axis0', [[2, 3], [4, 3]], 0), (13, 'axis1_three', [[2, 1, 4], [2, 3, 4], [2, 2, 4]], 1),
                                   (13, 'axis_neg1', [[2, 3, 1], [2, 3, 5]], -1), (13, 'one_input', [[2, 3]], 0),
                                   (13, 'empty_input', [[2, 0, 4], [2, 3, 4]], 1), (11, 'axis1_three', [[2, 1, 4], [2, 3, 4], [2, 2, 4]], 1),
                                   (4, 'axis0', [[2, 3], [4, 3]], 0)):
        name = f'Concat_{v}_o{opset}'
        r = Rand(name)
        names = [f'x{i}' for i in range(len(shapes))]
        B.add(name, 'Concat', opset, N('Concat', names, ['y'], axis=axis), [(n, r.normal(*s)) for n, s in zip(names, shapes)],
              compare='exact')
    name = 'Concat_int64_shape_o13'
    B.add(name, 'Concat', 13, N('Concat', ['a', 'b'], ['y'], axis=0), [('a', i64(1, 3))], inits=[('b', i64(-1, 4))],
          outputs=[('y', 'i64')], compare='exact')
    # Split: attr (<13), input (13..17), num_outputs (18+).
    for v, opset, xs, axis, split, nout, kind in (
            ('attr_uneven', 11, [2, 6, 3], 1, [2, 4], 2, 'attr'), ('equal3', 11, [2, 3, 9], -1, None, 3, 'attr'),
            ('attr_uneven', 2, [2, 6, 3], 1, [2, 4], 2, 'attr'),
            ('input_uneven', 13, [6, 4], 0, [1, 2, 3], 3, 'input'), ('equal2', 13, [2, 8], 1, None, 2, 'input'),
            ('num_outputs_uneven', 18, [2, 7], 1, None, 3, 'num'), ('num_outputs_even', 18, [6, 2], 0, None, 2, 'num'),
            ('input_uneven', 18, [6, 4], 0, [4, 2], 2, 'input'), ('equal_noattr', 18, [4, 6], 1, None, 3, 'none')):
        name = f'Split_{v}_o{opset}'
        outs = [f'y{i}' for i in range(nout)]
        ins, inits, attrs = ['x'], [], {'axis': axis}
        if kind == 'attr' and split:
            attrs['split'] = split
        elif kind == 'input' and split:
            ins.append('split')
            inits.append(('split', i64(*split)))
        elif kind == 'num':
            attrs['num_outputs'] = nout
        if kind == 'none':  # opset 18 requires split or num_outputs: keep both ways covered
            attrs['num_outputs'] = nout
        B.add(name, 'Split', opset, N('Split', ins, outs, **attrs), [('x', Rand(name).normal(*xs))], outputs=outs,
              inits=inits, compare='exact')


def slice_gather_cases(B):
    x = [4, 6, 5]
    # Opset < 10: attributes starts/ends/axes.
    for v, starts, ends, axes in (('axes', [1, 0], [3, 4], [0, 2]), ('axes_omitted', [1, 2], [3, 5], None),
                                  ('clamp', [-1000, 1], [1000, INT64_MAX], [0, 1]), ('negative', [-3], [-1], [1])):
        name = f'Slice_{v}_o9'
        attrs = {'starts': starts, 'ends': ends}
        if axes is not None:
            attrs['axes'] = axes
        B.add(name, 'Slice', 9, N('Slice', ['x'], ['y'], **attrs), [('x', Rand(name).normal(*x))], compare='exact')
    # Opset 10+: inputs starts, ends, [axes], [steps].
    variants = [
        ('basic', [1, 0], [3, 4], [0, 2], None),
        ('steps2', [0, 1], [4, 6], [0, 1], [2, 2]),
        ('reverse_axis', [-1], [INT64_MIN], [1], [-1]),
        ('negative_step_partial', [5, 3], [1, 0], [1, 2], [-2, -1]),
        ('axes_omitted', [1, 2], [3, 5], None, None),
        ('steps_omitted', [1], [-1], [2], None),
        ('clamp_out_of_range', [-1000, 2], [1000, 100], [0, 1], None),
        ('negative_axes', [1], [-1], [-1], None),
        ('ends_int64_max', [2], [INT64_MAX], [1], [1]),
        ('empty_result', [3], [1], [0], [1]),
        ('step3_clamp', [0], [100], [1], [3]),
        ('negative_step_clamp', [100], [-100], [0], [-2]),
    ]
    for opset, only in ((13, None), (10, 'steps2'), (11, 'reverse_axis')):
        for v, starts, ends, axes, steps in variants:
            if only and v != only:
                continue
            name = f'Slice_{v}_o{opset}'
            ins, inits = ['x', 'starts', 'ends'], [('starts', i64(*starts)), ('ends', i64(*ends))]
            if axes is not None or steps is not None:
                ins.append('' if axes is None else 'axes')
                if axes is not None:
                    inits.append(('axes', i64(*axes)))
            if steps is not None:
                ins.append('steps')
                inits.append(('steps', i64(*steps)))
            B.add(name, 'Slice', opset, N('Slice', ins, ['y']), [('x', Rand(name).normal(*x))], inits=inits, compare='exact')
    name = 'Slice_int64_shape_o13'
    B.add(name, 'Slice', 13, N('Slice', ['x', 's', 'e'], ['y']), [('x', i64(1, 3, 224, 224))],
          inits=[('s', i64(2)), ('e', i64(INT64_MAX))], outputs=[('y', 'i64')], compare='exact')
    name = 'Slice_runtime_starts_o13'
    B.add(name, 'Slice', 13, N('Slice', ['x', 's', 'e'], ['y']), [('x', Rand(name).normal(5, 4)), ('s', i64(1)), ('e', i64(4))],
          compare='exact', note='starts/ends are runtime int64 inputs')
    # Gather
    for opset, v, xs, idx, axis in ((13, 'axis0', [5, 4], i64(0, 3, 1), 0), (13, 'axis1_2d_indices', [3, 5, 2], i64(4, 0, 2, 2).reshape(2, 2), 1),
                                    (13, 'axis_neg1', [3, 4, 5], i64(4, 1), -1), (13, 'negative_indices', [5, 4], i64(-1, -5, 2), 0),
                                    (13, 'scalar_index', [5, 4], np.array(2, I64), 0), (13, 'scalar_index_axis1', [3, 4], np.array(-1, I64), 1),
                                    (13, 'int32_indices', [5, 4], np.array([4, 0], np.int32), 0), (11, 'axis1_2d_indices', [3, 5, 2], i64(4, 0, 2, 2).reshape(2, 2), 1),
                                    (1, 'axis0', [5, 4], i64(0, 3, 1), 0)):
        name = f'Gather_{v}_o{opset}'
        B.add(name, 'Gather', opset, N('Gather', ['x', 'i'], ['y'], axis=axis), [('x', Rand(name).normal(*xs))],
              inits=[('i', idx)], compare='exact')
    name = 'Gather_int64_shape_o13'
    B.add(name, 'Gather', 13, N('Gather', ['x', 'i'], ['y'], axis=0), [('x', i64(1, 3, 224, 224))],
          inits=[('i', np.array(1, I64))], outputs=[('y', 'i64')], compare='exact', note='the Shape->Gather idiom')
    name = 'Gather_runtime_indices_o13'
    B.add(name, 'Gather', 13, N('Gather', ['x', 'i'], ['y'], axis=0), [('x', Rand(name).normal(6, 3)), ('i', i64(5, -2, 0, 0))],
          compare='exact', note='indices are a runtime int64 input (embedding lookup)')


def shape_cases(B):
    for opset, v, attrs in ((13, 'full', {}), (1, 'full', {}), (15, 'start1', {'start': 1}), (15, 'end_neg1', {'end': -1}),
                            (15, 'start_neg2', {'start': -2}), (15, 'start1_end3', {'start': 1, 'end': 3}),
                            (15, 'clamped', {'start': -10, 'end': 10}), (15, 'empty', {'start': 3, 'end': 1}),
                            (21, 'start1', {'start': 1})):
        name = f'Shape_{v}_o{opset}'
        B.add(name, 'Shape', opset, N('Shape', ['x'], ['y'], **attrs), [('x', Rand(name).normal(2, 3, 4, 5))],
              outputs=[('y', 'i64')], compare='exact')
    for opset, v, xs in ((13, '4d', [2, 3, 4, 5]), (13, 'scalar', []), (1, '4d', [2, 3, 4, 5]), (21, '4d', [2, 3, 4, 5])):
        name = f'Size_{v}_o{opset}'
        B.add(name, 'Size', opset, N('Size', ['x'], ['y']), [('x', Rand(name).normal(*xs))],
              outputs=[('y', 'i64')], compare='exact')
    name = 'Shape_int64_input_o13'
    B.add(name, 'Shape', 13, N('Shape', ['x'], ['y']), [('x', i64(5, 6, 7))], outputs=[('y', 'i64')], compare='exact')


def constant_cases(B):
    r = Rand('Constant')
    for opset, v, attrs, elem in (
            (13, 'tensor_float', {'value': numpy_helper.from_array(r.normal(2, 3), 'v')}, 'f'),
            (13, 'tensor_int64', {'value': numpy_helper.from_array(i64(1, -1, 3), 'v')}, 'i64'),
            (13, 'tensor_scalar', {'value': numpy_helper.from_array(np.array(2.5, np.float32), 'v')}, 'f'),
            (13, 'value_float', {'value_float': 0.125}, 'f'), (13, 'value_floats', {'value_floats': [1.0, -2.0, 3.5]}, 'f'),
            (13, 'value_int', {'value_int': -7}, 'i64'), (13, 'value_ints', {'value_ints': [0, 3, -1]}, 'i64'),
            (9, 'tensor_float', {'value': numpy_helper.from_array(r.normal(4), 'v')}, 'f'),
            (12, 'value_floats', {'value_floats': [0.5, 0.25]}, 'f'),
            (21, 'tensor_float', {'value': numpy_helper.from_array(r.normal(3), 'v')}, 'f')):
        name = f'Constant_{v}_o{opset}'
        B.add(name, 'Constant', opset, N('Constant', [], ['y'], **attrs), [], outputs=[('y', elem)], compare='exact')
    for opset, v, value, shape_input, elem in (
            (9, 'default_zero', None, False, 'f'), (9, 'float', np.array([1.5], np.float32), False, 'f'),
            (9, 'int64', i64(7), False, 'i64'), (9, 'shape_input', np.array([0.25], np.float32), True, 'f'),
            (20, 'float', np.array([-3.0], np.float32), False, 'f'), (9, 'scalar_shape', np.array([2.0], np.float32), False, 'f')):
        name = f'ConstantOfShape_{v}_o{opset}'
        shape = i64() if v == 'scalar_shape' else i64(2, 3, 4)
        attrs = {} if value is None else {'value': numpy_helper.from_array(value, 'value')}
        inputs, inits = ([('shape', shape)], []) if shape_input else ([], [('shape', shape)])
        B.add(name, 'ConstantOfShape', opset, N('ConstantOfShape', ['shape'], ['y'], **attrs), inputs, inits=inits,
              outputs=[('y', elem)], compare='exact')


def cast_cases(B):
    P = TensorProto
    for opset, v, make, to, elem in (
            (13, 'float_to_int64', lambda r: r.normal(20, scale=10.0), P.INT64, 'i64'),
            (13, 'float_to_int32', lambda r: r.normal(20, scale=10.0), P.INT32, 'i32'),
            (13, 'float_to_bool', lambda r: np.where(r.bools(12), 0.0, r.normal(12)).astype(np.float32), P.BOOL, 'b'),
            (13, 'bool_to_float', lambda r: r.bools(3, 4), P.FLOAT, 'f'),
            (13, 'int64_to_float', lambda r: r.ints(-1000, 1000, 10), P.FLOAT, 'f'),
            (13, 'int32_to_int64', lambda r: r.ints(-1000, 1000, 10, dtype=np.int32), P.INT64, 'i64'),
            (13, 'int64_to_int32', lambda r: r.ints(-1000, 1000, 10), P.INT32, 'i32'),
            (13, 'int64_to_bool', lambda r: r.ints(-1, 1, 10), P.BOOL, 'b'),
            (13, 'float_to_uint8', lambda r: r.uniform(0, 255, 16), P.UINT8, 'u8'),
            (13, 'uint8_to_float', lambda r: r.ints(0, 255, 16, dtype=np.uint8), P.FLOAT, 'f'),
            (13, 'float_to_int8', lambda r: r.uniform(-128, 127, 16), P.INT8, 'i8'),
            (13, 'float_to_float', lambda r: r.normal(5), P.FLOAT, 'f'),
            (9, 'float_to_int64', lambda r: r.normal(20, scale=10.0), P.INT64, 'i64'),
            (6, 'int64_to_float', lambda r: r.ints(-1000, 1000, 10), P.FLOAT, 'f'),
            (19, 'float_to_int64', lambda r: r.normal(20, scale=10.0), P.INT64, 'i64'),
            (21, 'int64_to_float', lambda r: r.ints(-1000, 1000, 10), P.FLOAT, 'f')):
        name = f'Cast_{v}_o{opset}'
        B.add(name, 'Cast', opset, N('Cast', ['x'], ['y'], to=to), [('x', make(Rand(name)))], outputs=[('y', elem)],
              compare='exact')


def misc_cases(B):
    for opset, v, make, elem in ((13, 'float', lambda r: r.normal(2, 3), 'f'), (13, 'int64', lambda r: r.ints(-5, 5, 4), 'i64'),
                                 (1, 'float', lambda r: r.normal(2, 3), 'f'), (16, 'float', lambda r: r.normal(2, 3), 'f'),
                                 (21, 'float', lambda r: r.normal(2, 3), 'f')):
        name = f'Identity_{v}_o{opset}'
        B.add(name, 'Identity', opset, N('Identity', ['x'], ['y']), [('x', make(Rand(name)))], outputs=[('y', elem)],
              compare='exact')
    name = 'Identity_output_name_sanitized_o13'
    B.add(name, 'Identity', 13, N('Identity', ['in:0'], ['out/0:x y']), [('in:0', Rand(name).normal(3))],
          outputs=['out/0:x y'], compare='exact', note='file names: out/0:x y -> out_0_x_y.npy, in:0 -> in_0.npy')
    # Dropout in inference is the identity (the mask, when asked for, is all true).
    for opset, v, ins, inits, attrs, outs in (
            (7, 'ratio_attr', ['x'], [], {'ratio': 0.3}, ['y']),
            (10, 'ratio_attr', ['x'], [], {'ratio': 0.3}, ['y']),
            (12, 'ratio_input', ['x', 'r'], [('r', np.array(0.5, np.float32))], {}, ['y']),
            (13, 'default', ['x'], [], {}, ['y']),
            (13, 'training_mode_false', ['x', 'r', 't'], [('r', np.array(0.5, np.float32)), ('t', np.array(False))], {}, ['y']),
            (13, 'with_mask', ['x'], [], {}, ['y', ('mask', 'b')]),
            (22, 'default', ['x'], [], {}, ['y'])):
        name = f'Dropout_{v}_o{opset}'
        outnames = [o if isinstance(o, str) else o[0] for o in outs]
        B.add(name, 'Dropout', opset, N('Dropout', ins, outnames, **attrs), [('x', Rand(name).normal(3, 4))], inits=inits,
              outputs=outs, compare='exact')
    for opset, v, xs, shape, make, elem in ((13, 'column', [3, 1], [3, 4], None, 'f'), (13, 'rank_grow', [1, 6], [2, 1, 6], None, 'f'),
                                            (13, 'shape_smaller', [3, 4], [1, 1], None, 'f'), (13, 'scalar_input', [], [2, 3], None, 'f'),
                                            (13, 'both_sides', [3, 1], [2, 1, 5], None, 'f'), (8, 'column', [3, 1], [3, 4], None, 'f'),
                                            (13, 'int64', [1, 3], [2, 3], 'i64', 'i64')):
        name = f'Expand_{v}_o{opset}'
        r = Rand(name)
        x = r.ints(-9, 9, *xs) if make == 'i64' else r.normal(*xs)
        B.add(name, 'Expand', opset, N('Expand', ['x', 'shape'], ['y']), [('x', x)], inits=[('shape', i64(*shape))],
              outputs=[('y', elem)], compare='exact')
    name = 'Expand_shape_input_o13'
    B.add(name, 'Expand', 13, N('Expand', ['x', 'shape'], ['y']), [('x', Rand(name).normal(1, 4)), ('shape', i64(3, 4))],
          compare='exact', note='shape is a runtime int64 input')
    for opset, v, xs, reps, elem in ((13, '2d', [2, 3], [2, 3], 'f'), (13, '3d', [1, 2, 3], [2, 1, 2], 'f'),
                                     (13, 'ones', [2, 3], [1, 1], 'f'), (6, '2d', [2, 3], [2, 3], 'f'), (13, 'int64', [3], [2], 'i64')):
        name = f'Tile_{v}_o{opset}'
        r = Rand(name)
        x = r.ints(-9, 9, *xs) if elem == 'i64' else r.normal(*xs)
        B.add(name, 'Tile', opset, N('Tile', ['x', 'reps'], ['y']), [('x', x)], inits=[('reps', i64(*reps))],
              outputs=[('y', elem)], compare='exact')
    # Range
    for v, start, limit, delta, as_inputs in (('float', 0.0, 5.0, 0.5, False), ('float_negative_delta', 5.0, -1.0, -0.7, False),
                                              ('int64', 0, 10, 3, False), ('int64_negative', 10, 0, -2, False),
                                              ('int64_empty', 5, 5, 1, False), ('float_inputs', 1.0, 3.0, 0.25, True),
                                              ('int64_inputs', -3, 4, 2, True)):
        name = f'Range_{v}_o11'
        dt = np.float32 if isinstance(start, float) else I64
        vals = [('start', np.array(start, dt)), ('limit', np.array(limit, dt)), ('delta', np.array(delta, dt))]
        inputs, inits = (vals, []) if as_inputs else ([], vals)
        B.add(name, 'Range', 11, N('Range', ['start', 'limit', 'delta'], ['y']), inputs, inits=inits,
              outputs=[('y', 'f' if dt == np.float32 else 'i64')], compare='exact')


def pad_cases(B):
    x = [1, 2, 4, 5]
    # Opset 2: attributes pads/mode/value.
    for v, mode, pads, value in (('constant', 'constant', [0, 0, 1, 2, 0, 0, 2, 1], 1.5),
                                 ('constant_default', None, [0, 0, 1, 1, 0, 0, 1, 1], None),
                                 ('reflect', 'reflect', [0, 0, 2, 1, 0, 0, 1, 3], None),
                                 ('edge', 'edge', [0, 0, 1, 2, 0, 0, 3, 1], None)):
        name = f'Pad_{v}_o2'
        attrs = {'pads': pads}
        if mode:
            attrs['mode'] = mode
        if value is not None:
            attrs['value'] = value
        B.add(name, 'Pad', 2, N('Pad', ['x'], ['y'], **attrs), [('x', Rand(name).normal(*x))], compare='exact')
    # Opset 11+: inputs pads, [constant_value]; opset 18 adds axes.
    variants = [
        ('constant_value', 'constant', [0, 0, 1, 2, 0, 0, 2, 1], 1.5, None),
        ('constant_no_value', 'constant', [0, 0, 1, 1, 0, 0, 1, 1], None, None),
        ('reflect', 'reflect', [0, 0, 2, 1, 0, 0, 1, 3], None, None),
        ('edge', 'edge', [0, 0, 1, 2, 0, 0, 3, 1], None, None),
        ('negative_crop', 'constant', [0, 0, -1, 1, 0, 0, 1, -2], 0.0, None),
        ('channel_and_batch', 'constant', [1, 1, 0, 0, 0, 2, 0, 0], -1.0, None),
    ]
    for opset, only in ((11, None), (13, 'reflect'), (18, 'edge'), (19, 'constant_value'), (21, 'edge')):
        for v, mode, pads, value, _ in variants:
            if only and v != only:
                continue
            name = f'Pad_{v}_o{opset}'
            ins, inits = ['x', 'pads'], [('pads', i64(*pads))]
            if value is not None:
                ins.append('value')
                inits.append(('value', np.array(value, np.float32)))
            B.add(name, 'Pad', opset, N('Pad', ins, ['y'], mode=mode), [('x', Rand(name).normal(*x))], inits=inits,
                  compare='exact')
    name = 'Pad_axes_input_o18'
    B.add(name, 'Pad', 18, N('Pad', ['x', 'pads', '', 'axes'], ['y'], mode='reflect'), [('x', Rand(name).normal(*x))],
          inits=[('pads', i64(1, 2, 2, 1)), ('axes', i64(2, -1))], compare='exact')
    name = 'Pad_wrap_o19'
    B.add(name, 'Pad', 19, N('Pad', ['x', 'pads'], ['y'], mode='wrap'), [('x', Rand(name).normal(*x))],
          inits=[('pads', i64(0, 0, 1, 2, 0, 0, 2, 1))], compare='exact')
    name = 'Pad_1d_edge_o13'
    B.add(name, 'Pad', 13, N('Pad', ['x', 'pads'], ['y'], mode='edge'), [('x', Rand(name).normal(5))],
          inits=[('pads', i64(3, 2))], compare='exact')


def reduce_cases(B):
    x = [2, 3, 4, 5]
    # (variant, axes, keepdims, noop_with_empty_axes). axes None: not given at all.
    variants = [('axis1', [1], None, None), ('axes_1_2', [1, 2], 1, None), ('axis_neg1_nokeep', [-1], 0, None),
                ('all_keep', None, 1, None), ('all_nokeep', None, 0, None), ('axes_0_3_nokeep', [0, 3], 0, None)]
    input_only = [('empty_axes_noop', [], 1, 1), ('empty_axes_reduce_all', [], 0, 0), ('no_axes_noop', None, 1, 1)]
    for op, cmp in (('ReduceMean', 'accumulate'), ('ReduceSum', 'accumulate'), ('ReduceMax', 'exact'), ('ReduceMin', 'exact')):
        attr_opsets = (11, 13) if op != 'ReduceSum' else (11,)
        input_opsets = (18,) if op != 'ReduceSum' else (13, 18)
        for opset in attr_opsets + input_opsets:
            by_input = opset in input_opsets
            vs = variants + (input_only if by_input else [])
            for v, axes, keep, noop in vs:
                if opset == 11 and op != 'ReduceSum' and v not in ('axis1', 'all_nokeep'):
                    continue
                if opset == 18 and op == 'ReduceSum' and v not in ('axes_1_2', 'empty_axes_noop'):
                    continue
                name = f'{op}_{v}_o{opset}'
                attrs = {k: val for k, val in (('keepdims', keep), ('noop_with_empty_axes', noop)) if val is not None}
                ins, inits = ['x'], []
                if axes is not None:
                    if by_input:
                        ins.append('axes')
                        inits.append(('axes', i64(*axes)))
                    else:
                        attrs['axes'] = axes
                B.add(name, op, opset, N(op, ins, ['y'], **attrs), [('x', Rand(name).normal(*x))], inits=inits,
                      compare=cmp)
    name = 'ReduceSum_large_o13'
    B.add(name, 'ReduceSum', 13, N('ReduceSum', ['x', 'axes'], ['y'], keepdims=0), [('x', Rand(name).normal(4, 4096))],
          inits=[('axes', i64(1))], compare='accumulate')
    name = 'ReduceMean_runtime_axes_o18'
    B.add(name, 'ReduceMean', 18, N('ReduceMean', ['x', 'axes'], ['y']), [('x', Rand(name).normal(*x)), ('axes', i64(2, 3))],
          compare='accumulate', note='axes is a runtime int64 input')
    name = 'ReduceMax_int64_o13'
    B.add(name, 'ReduceMax', 13, N('ReduceMax', ['x'], ['y'], axes=[0], keepdims=0), [('x', Rand(name).ints(-50, 50, 3, 4))],
          outputs=[('y', 'i64')], compare='exact')


def cases(B):
    reshape_cases(B)
    squeeze_cases(B)
    concat_split_cases(B)
    slice_gather_cases(B)
    shape_cases(B)
    constant_cases(B)
    cast_cases(B)
    misc_cases(B)
    pad_cases(B)
    reduce_cases(B)
