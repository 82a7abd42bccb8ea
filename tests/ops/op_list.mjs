// The ops of the FP32 engine issue: the op oracle corpus must cover each of them, and the ONNX
// backend node tests whose nodes all use these ops (default domain) are run against the engine.
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
];
