fn main() {
    // Build scripts are compiled with the package's features, so this only runs for the tray build.
    #[cfg(feature = "tray")]
    {
        // The app's one command, `page`, carries every page command (`tray::ipc::PageCommand`);
        // its permission `allow-page` is granted in capabilities/.
        let manifest = tauri_build::AppManifest::new().commands(&["page"]);
        if let Err(err) =
            tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        {
            panic!("tauri-build failed: {err:#}");
        }
    }
}
