public enum LuffyPayVersion {
    public static let string = "0.1.0"
}
