fn main() {
    // Build scripts are compiled with the package's features, so this only runs for the tray build.
    #[cfg(feature = "tray")]
    tauri_build::build();
}
