/// The wire contract's version; the package of every message is `edgevlm.fleet.v1`.
public enum FleetProtocolVersion {
    public static let current = "edgevlm.fleet.v1"
}
