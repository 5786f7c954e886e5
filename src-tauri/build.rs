fn main() {
    // Build scripts are compiled with the package's features, so this only runs for the tray build.
    #[cfg(feature = "tray")]
    {
        // The app's own commands get permissions (`allow-<command>`) that capabilities grant
        // one by one.
        let manifest = tauri_build::AppManifest::new().commands(&[
            "get_settings",
            "save_settings",
            "generate_api_key",
            "copy_text",
            "recent_requests",
            "sign_in_here",
            "sign_in_with_browser",
            "submit_redirect_url",
        ]);
        if let Err(err) =
            tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        {
            panic!("tauri-build failed: {err:#}");
        }
    }
}
