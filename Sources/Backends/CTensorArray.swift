import CDelegate
import GGUF

/// C `edgevlm_tensor` arrays (with their name strings) built from Swift tensors; the memory
/// lives until `deallocate`, i.e. for the duration of one ABI call.
struct CTensorArray {
    let tensors: UnsafeMutablePointer<edgevlm_tensor>
    let count: Int
    private let names: [UnsafeMutablePointer<CChar>]

    init(_ descriptors: [TensorDescriptor]) {
        count = descriptors.count
        tensors = .allocate(capacity: max(1, count))
        var names: [UnsafeMutablePointer<CChar>] = []
        for (i, d) in descriptors.enumerated() {
            let name = Self.copyString(d.name)
            names.append(name)
            tensors[i] = Self.tensor(name: name, type: d.type, shape: d.shape,
                                     data: d.data.map { UnsafeMutableRawPointer(mutating: $0) },
                                     bytes: d.data == nil ? 0 : d.byteCount)
        }
        self.names = names
    }

    init(_ hostTensors: [HostTensor], roleName: String) {
        count = hostTensors.count
        tensors = .allocate(capacity: max(1, count))
        let name = Self.copyString(roleName)
        names = [name]
        for (i, t) in hostTensors.enumerated() {
            let descriptor = TensorDescriptor(name: roleName, type: t.type, shape: t.shape)
            tensors[i] = Self.tensor(name: name, type: t.type, shape: t.shape, data: t.data, bytes: descriptor.byteCount)
        }
    }

    func deallocate() {
        tensors.deallocate()
        for name in names { name.deallocate() }
    }

    private static func copyString(_ s: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(s.utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        p.initialize(from: utf8, count: utf8.count)
        return p
    }

    private static func tensor(name: UnsafePointer<CChar>, type: GGMLType, shape: [Int],
                               data: UnsafeMutableRawPointer?, bytes: Int) -> edgevlm_tensor {
        var t = edgevlm_tensor()
        t.name = name
        t.type = type.rawValue
        t.n_dims = UInt32(min(shape.count, Int(EDGEVLM_MAX_DIMS)))
        var dims: [Int64] = shape.prefix(Int(EDGEVLM_MAX_DIMS)).map { Int64($0) }
        while dims.count < Int(EDGEVLM_MAX_DIMS) { dims.append(1) }
        t.shape = (dims[0], dims[1], dims[2], dims[3])
        t.data = data
        t.size_bytes = bytes
        return t
    }
}

extension OpDescriptor {
    /// Calls `body` with this op as a C `edgevlm_op_desc` valid only during the call.
    func withCDescriptor<R>(_ body: (UnsafePointer<edgevlm_op_desc>) -> R) -> R {
        let inputs = CTensorArray(self.inputs)
        let weights = CTensorArray(self.weights)
        let outputs = CTensorArray(self.outputs)
        defer {
            inputs.deallocate()
            weights.deallocate()
            outputs.deallocate()
        }
        return label.withCString { labelPointer in
            var desc = edgevlm_op_desc()
            desc.struct_size = UInt32(MemoryLayout<edgevlm_op_desc>.size)
            desc.kind = kind.rawValue
            desc.label = labelPointer
            desc.params.eps = eps
            desc.params.variant = geluVariant.rawValue
            desc.params.heads = Int32(heads)
            desc.params.kv_heads = Int32(kvHeads)
            desc.params.causal = causal ? 1 : 0
            desc.params.patch_size = Int32(patchSize)
            desc.params.layer_index = Int32(layerIndex)
            desc.n_inputs = UInt32(inputs.count)
            desc.inputs = UnsafePointer(inputs.tensors)
            desc.n_weights = UInt32(weights.count)
            desc.weights = UnsafePointer(weights.tensors)
            desc.n_outputs = UInt32(outputs.count)
            desc.outputs = UnsafePointer(outputs.tensors)
            return withUnsafePointer(to: &desc) { body($0) }
        }
    }
}
