//! `acula mae-loss` (hidden; a development tool): the masked-autoencoder loss of given weights on
//! given input and masking noise, printed as JSON, so `tests/parity/encoder.py` can compare the MAE
//! branch with the numpy reference.

use std::path::PathBuf;

use acula_core::encoder::{Mae, MaeConfig, Masking};
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;

use crate::{npy, Failure};

/// Arguments of `acula mae-loss`.
#[derive(Debug, Args)]
pub struct MaeLossArgs {
    /// Encoder + decoder weights with PyTorch names (plain decoder layout).
    #[arg(long)]
    pub weights: PathBuf,
    /// Encoder size: preset or JSON file.
    #[arg(long, default_value = "gt-tiny")]
    pub encoder: String,
    /// Decoder and mask ratio (JSON `MaeConfig`); default: the preset's.
    #[arg(long)]
    pub decoder: Option<PathBuf>,
    /// Input features, `.npy` `(batch, frames, mels)`.
    #[arg(long)]
    pub input: PathBuf,
    /// Masking noise, `.npy` `(batch, tokens)`.
    #[arg(long)]
    pub noise: PathBuf,
}

fn read(path: &PathBuf) -> Result<(Vec<usize>, Vec<f32>), Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    npy::decode_f32(&bytes).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// Runs `acula mae-loss`.
pub fn run(args: &MaeLossArgs) -> Result<(), Failure> {
    let config = crate::embed_audio::encoder_config(&args.encoder)?;
    let mae: MaeConfig = match &args.decoder {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?
        }
        None if args.encoder == "gt-small" => MaeConfig::default(),
        None => MaeConfig::tiny(),
    };
    let bytes = std::fs::read(&args.weights)
        .map_err(|e| Failure::input(format!("{}: {e}", args.weights.display())))?;
    let device = Device::flex();
    let model = Mae::load_pytorch(&config, &mae, &bytes, &device)
        .map_err(|e| Failure::input(format!("{}: {e}", args.weights.display())))?;
    let (shape, x) = read(&args.input)?;
    let (nshape, noise) = read(&args.noise)?;
    if shape.len() != 3 || nshape.len() != 2 || nshape[0] != shape[0] {
        return Err(Failure::input(format!(
            "input {shape:?} and noise {nshape:?} do not fit"
        )));
    }
    let x = Tensor::<3>::from_data(TensorData::new(x, [shape[0], shape[1], shape[2]]), &device);
    let masking = Masking::from_noise(&noise, nshape[0], nshape[1], mae.mask_ratio, &device);
    let loss: f32 = model.forward(x, &masking).loss.into_scalar();
    println!("{}", serde_json::json!({ "loss": loss }));
    Ok(())
}
