// The ops of the FP32 engine: the op oracle corpus must cover each of them, and the ONNX backend
// node tests whose nodes all use these ops (default domain) are run against the engine. The first
// block is the FP32 engine issue's minimum list; the second, ops that held-out real CNN, OCR,
// detection and transformer exports add (tools/op_models/extra.py).
export const SUPPORTED_OPS = [
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Exp', 'Log', 'Erf', 'Tanh', 'Sigmoid',
  'HardSigmoid', 'HardSwish', 'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Clip', 'Max', 'Min',
  'Neg', 'Abs', 'Reciprocal', 'Softmax', 'LogSoftmax',
  'BatchNormalization', 'LayerNormalization', 'InstanceNormalization',
  'GlobalAveragePool', 'GlobalMaxPool', 'AveragePool', 'MaxPool',
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin',
  'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Concat', 'Split', 'Slice',
  'Gather', 'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Cast', 'Identity', 'Dropout',
  'Expand', 'Tile', 'Pad', 'Resize', 'Upsample', 'Where', 'Equal', 'Less', 'Greater', 'Not',
  'Range', 'Gelu', 'QuantizeLinear', 'DequantizeLinear',

  'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Softplus', 'Softsign', 'Selu', 'Celu',
  'ThresholdedRelu', 'Mish', 'IsNaN', 'IsInf', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor',
  'Mod', 'Sum', 'Mean',
  'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp', 'ReduceLogSum',
  'ArgMax', 'ArgMin',
  'LRN', 'DepthToSpace', 'SpaceToDepth', 'Hardmax', 'Trilu', 'CumSum', 'OneHot',
  'GatherElements', 'GatherND', 'ScatterND', 'ScatterElements', 'Scatter', 'TopK', 'NonZero', 'Einsum',
  'NonMaxSuppression', 'RNN', 'GRU', 'LSTM',
  'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Shrink', 'LpNormalization',
  'GridSample', 'CastLike', 'EyeLike', 'Compress', 'ReverseSequence',
  'If', 'Loop', 'Scan',
];
