/// A data problem, naming the file, the dataset (or key) and the clip index where known.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file; the dataset, key or column (nil: the file as a whole); the clip (row) index; why.
    public let file: String
    public let dataset: String?
    public let index: Int?
    public let reason: String

    public init(file: String, dataset: String? = nil, index: Int? = nil, reason: String) {
        self.file = file; self.dataset = dataset; self.index = index; self.reason = reason
    }

    public var description: String {
        var s = file
        if let dataset { s += ", dataset '\(dataset)'" }
        if let index { s += ", clip \(index)" }
        return s + ": " + reason
    }
}

/// What the loader (and the packer) do with a clip that cannot be used.
public enum BadClipPolicy: String, Sendable, CaseIterable, Codable {
    /// Report it (stderr and `report`) and carry on without it.
    case skip
    /// Throw the error.
    case stop
}
