// search() on the quantization simulator. STATUS: stub until src/quant's Simulator is committed
// (the implementation is ready and lands with it).
#include "mixed_precision/search.h"

#include "core/error.h"

namespace qm::mp {

SearchResult search(const quant::QuantModel&, quant::Simulator&, const std::vector<std::vector<Tensor>>&,
                    const SearchOptions&) {
  throw Error(ErrorKind::Unsupported, "mixed-precision search: not available yet (waiting for the simulator)");
}

}  // namespace qm::mp
