"""Control flow: If, Loop and Scan with subgraphs that read outer-scope values (names of the
enclosing graph they do not declare as inputs), an If nested inside a Loop body, a Loop with only a
condition, a Loop stopped early by its condition, and Scan with reverse directions and non-zero
axes. Conditions come from graph inputs or are computed from the data, so both branches run."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from make_op_models import Rand

N = helper.make_node
F, I64, B_ = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def graph(nodes, name, inputs, outputs, inits=()):
    return helper.make_graph(nodes, name, inputs, outputs,
                             initializer=[numpy_helper.from_array(np.asarray(v), n) for n, v in inits])


def if_cases(B):
    # Branches read the main graph's input x and initializer w (outer scope); the condition is a
    # graph input, once true and once false.
    for cond in (True, False):
        name = f'If_outer_scope_{"then" if cond else "else"}_o13'
        r = Rand(name)
        then_g = graph([N('Add', ['x', 'w'], ['t'])], 'then', [], [vi('t', F, [2, 3])])
        else_g = graph([N('Mul', ['x', 'k'], ['e'])], 'else', [], [vi('e', F, [2, 3])], inits=[('k', r.normal(2, 3))])
        B.add(name, 'If', 13, N('If', ['c'], ['y'], then_branch=then_g, else_branch=else_g),
              [('c', np.array(cond)), ('x', r.normal(2, 3))], inits=[('w', r.normal(2, 3))], compare='elementwise')
    # Condition computed from the data; a Conv inside the then branch with weights in the branch;
    # two outputs, one of them a value of the enclosing graph passed on by an Identity (ONNX Runtime
    # rejects a subgraph output that is an outer-scope name).
    for sign in ('pos', 'neg'):
        name = f'If_data_cond_conv_{sign}_o11'
        r = Rand(name)
        x = np.abs(r.normal(1, 2, 5, 5)) * (1 if sign == 'pos' else -1)
        then_g = graph([N('Conv', ['x', 'cw'], ['t'], pads=[1, 1, 1, 1]), N('Identity', ['h'], ['h1'])], 'then', [],
                       [vi('t', F, [1, 3, 5, 5]), vi('h1', F, [1, 2, 5, 5])], inits=[('cw', r.normal(3, 2, 3, 3))])
        else_g = graph([N('Relu', ['x'], ['e0']), N('Concat', ['e0', 'e0', 'h'], ['e'], axis=1),
                        N('Slice', ['e', 'st', 'en', 'ax'], ['e1']), N('Neg', ['h'], ['e2'])], 'else', [],
                       [vi('e1', F, [1, 3, 5, 5]), vi('e2', F, [1, 2, 5, 5])],
                       inits=[('st', np.array([0], np.int64)), ('en', np.array([3], np.int64)), ('ax', np.array([1], np.int64))])
        B.add(name, 'If', 11,
              [N('ReduceSum', ['x'], ['s'], keepdims=0), N('Greater', ['s', 'zero'], ['c']),
               N('Sigmoid', ['x'], ['h']),
               N('If', ['c'], ['y', 'z'], then_branch=then_g, else_branch=else_g)],
              [('x', x)], outputs=['y', 'z'], inits=[('zero', np.array(0.0, np.float32))], compare='accumulate')


def loop_cases(B):
    # Trip count only: a carried accumulator adding x * iteration (x from the outer scope), and the
    # accumulator after each iteration as a scan output.
    name = 'Loop_trip_count_scan_o13'
    r = Rand(name)
    body = graph([N('Cast', ['i'], ['fi'], to=F), N('Mul', ['x', 'fi'], ['xi']), N('Add', ['acc', 'xi'], ['acc2']),
                  N('Identity', ['cin'], ['cout']), N('Identity', ['acc2'], ['snap'])], 'body',
                 [vi('i', I64, []), vi('cin', B_, []), vi('acc', F, [2, 3])],
                 [vi('cout', B_, []), vi('acc2', F, [2, 3]), vi('snap', F, [2, 3])])
    B.add(name, 'Loop', 13, N('Loop', ['M', '', 'a0'], ['acc', 'scan'], body=body),
          [('a0', r.normal(2, 3)), ('x', r.normal(2, 3))], outputs=['acc', 'scan'],
          inits=[('M', np.array(5, np.int64))], compare='elementwise')
    # Condition only (no M): doubles v until its sum reaches a limit from the outer scope; the sum
    # of each iteration is a scan output of unknown length.
    name = 'Loop_cond_only_o13'
    r = Rand(name)
    body = graph([N('Mul', ['v', 'two'], ['v2']), N('ReduceSum', ['v2'], ['s'], keepdims=0),
                  N('Less', ['s', 'limit'], ['cout'])], 'body',
                 [vi('i', I64, []), vi('cin', B_, []), vi('v', F, [3])],
                 [vi('cout', B_, []), vi('v2', F, [3]), vi('s', F, [])],
                 inits=[('two', np.array(2.0, np.float32))])
    B.add(name, 'Loop', 13, N('Loop', ['', 'c0', 'v0'], ['v', 'sums'], body=body),
          [('c0', np.array(True)), ('v0', np.abs(r.normal(3)) + 0.1)], outputs=['v', 'sums'],
          inits=[('limit', np.array(200.0, np.float32))], compare='elementwise')
    # M and a condition: the condition stops the loop before M.
    name = 'Loop_trip_count_and_cond_o11'
    r = Rand(name)
    body = graph([N('Add', ['v', 'one'], ['v2']), N('Less', ['i', 'stop'], ['cout'])], 'body',
                 [vi('i', I64, []), vi('cin', B_, []), vi('v', F, [2])],
                 [vi('cout', B_, []), vi('v2', F, [2])], inits=[('one', np.array(1.0, np.float32))])
    B.add(name, 'Loop', 11, N('Loop', ['M', 'c0', 'v0'], ['v'], body=body),
          [('v0', r.normal(2))], outputs=['v'], inits=[('M', np.array(10, np.int64)), ('c0', np.array(True)),
                                                       ('stop', np.array(3, np.int64))], compare='elementwise')
    # An If nested in the body: even iterations add x (main graph input), odd ones subtract a
    # body initializer; the If reads the body's carried value and the main graph's x.
    name = 'Loop_nested_if_o13'
    r = Rand(name)
    then_g = graph([N('Add', ['v', 'x'], ['t'])], 'then', [], [vi('t', F, [2, 2])])
    else_g = graph([N('Sub', ['v', 'bw'], ['e'])], 'else', [], [vi('e', F, [2, 2])])
    body = graph([N('Mod', ['i', 'two'], ['m']), N('Equal', ['m', 'zero'], ['even']),
                  N('If', ['even'], ['v2'], then_branch=then_g, else_branch=else_g),
                  N('Identity', ['cin'], ['cout']), N('Identity', ['v2'], ['v2s'])], 'body',
                 [vi('i', I64, []), vi('cin', B_, []), vi('v', F, [2, 2])],
                 [vi('cout', B_, []), vi('v2', F, [2, 2]), vi('v2s', F, [2, 2])],
                 inits=[('two', np.array(2, np.int64)), ('zero', np.array(0, np.int64)), ('bw', r.normal(2, 2))])
    B.add(name, 'Loop', 13, N('Loop', ['M', '', 'v0'], ['v', 'hist'], body=body),
          [('v0', r.normal(2, 2)), ('x', r.normal(2, 2))], outputs=['v', 'hist'],
          inits=[('M', np.array(4, np.int64))], compare='elementwise')


def scan_cases(B):
    # Cumulative sum over axis 0 with a state.
    name = 'Scan_cumsum_o11'
    r = Rand(name)
    body = graph([N('Add', ['s', 'xi'], ['s2']), N('Identity', ['s2'], ['o'])], 'body',
                 [vi('s', F, [2]), vi('xi', F, [2])], [vi('s2', F, [2]), vi('o', F, [2])])
    B.add(name, 'Scan', 11, N('Scan', ['s0', 'x'], ['s', 'y'], body=body, num_scan_inputs=1),
          [('s0', r.normal(2)), ('x', r.normal(5, 2))], outputs=['s', 'y'], compare='elementwise')
    # Two scan inputs: one along axis 1 in reverse, one along axis 0 forward; outputs along axis 1
    # reversed and axis -1 forward; the body reads the main graph's w (outer scope).
    name = 'Scan_reverse_axes_o16'
    r = Rand(name)
    body = graph([N('Mul', ['a', 'w'], ['aw']), N('Add', ['aw', 'b'], ['o1']), N('Add', ['s', 'o1'], ['s2']),
                  N('Neg', ['b'], ['o2'])], 'body',
                 [vi('s', F, [3, 2]), vi('a', F, [3, 2]), vi('b', F, [2])],
                 [vi('s2', F, [3, 2]), vi('o1', F, [3, 2]), vi('o2', F, [2])])
    B.add(name, 'Scan', 16, N('Scan', ['s0', 'xa', 'xb'], ['s', 'y1', 'y2'], body=body, num_scan_inputs=2,
                              scan_input_axes=[1, 0], scan_input_directions=[1, 0],
                              scan_output_axes=[1, -1], scan_output_directions=[1, 0]),
          [('s0', r.normal(3, 2)), ('xa', r.normal(3, 4, 2)), ('xb', r.normal(4, 2))], outputs=['s', 'y1', 'y2'],
          inits=[('w', r.normal(3, 2))], compare='elementwise')
    # Opset 9 form without a state: a scan output only.
    name = 'Scan_no_state_o9'
    r = Rand(name)
    body = graph([N('Relu', ['xi'], ['o'])], 'body', [vi('xi', F, [3])], [vi('o', F, [3])])
    B.add(name, 'Scan', 9, N('Scan', ['x'], ['y'], body=body, num_scan_inputs=1, scan_input_directions=[1]),
          [('x', r.normal(4, 3))], compare='exact')


def cases(B):
    if_cases(B)
    loop_cases(B)
    scan_cases(B)
