"""Writes the fuzz targets' seed corpus (fuzz/seeds/<target>/), small real inputs of every kind the
targets read. Run once by a developer (`$(scripts/pyenv.sh) fuzz/seeds/make_seeds.py`); its output is
committed. Audio comes from the default bundle's own demo recordings (www/models/default: a CC0
covid19-cough MP3 and a CC BY 4.0 KAUH lung sound, Fraiwan et al., Mendeley Data jwyy9np4gv), cut to
fractions of a second and written with libsndfile (soundfile) in each container and codec it has;
tables and metadata are a few lines in each dataset's official layout, from ../shared/data where
present. The first byte of each seed is the selector the target reads (see trainer/src/fuzzing.rs).
"""
import io
import json
import pathlib
import struct

import numpy as np
import soundfile as sf

root = pathlib.Path(__file__).resolve().parents[2]
seeds = root / "fuzz" / "seeds"
bundle = root / "www" / "models" / "default"
data = root.parent / "shared" / "data"


def put(target, name, selector, payload):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(bytes([selector]) + payload)


def encode(x, rate, **kw):
    b = io.BytesIO()
    sf.write(b, x, rate, **kw)
    return b.getvalue()


# --- audio: selector = index of the extension hint (0 none, 1 wav, 2 mp3, 3 ogg, 4 flac, 5 m4a, 6 webm, 7 txt)
lung, rate = sf.read(bundle / "example-5.wav", dtype="float32")  # 4 kHz mono KAUH lung sound
x = lung[4000:6000]  # 0.5 s
put("audio", "wav-pcm16-4k", 1, encode(x, rate, format="WAV", subtype="PCM_16"))
put("audio", "wav-float-4k-nohint", 0, encode(x[:800], rate, format="WAV", subtype="FLOAT"))
stereo = np.stack([x[:1000], -x[:1000]], axis=1)
put("audio", "wav-pcm24-stereo", 1, encode(stereo, 8000, format="WAV", subtype="PCM_24"))
six = np.stack([x[:300] * (k + 1) / 6 for k in range(6)], axis=1)
put("audio", "wavex-6ch-192k", 1, encode(six, 192000, format="WAV", subtype="PCM_16"))
put("audio", "wav-ulaw", 1, encode(x, rate, format="WAV", subtype="ULAW"))
put("audio", "flac", 4, encode(x, rate, format="FLAC", subtype="PCM_16"))
put("audio", "ogg-vorbis", 3, encode(np.repeat(x, 2), 8000, format="OGG", subtype="VORBIS"))
put("audio", "ogg-opus", 3, encode(np.repeat(x, 2), 8000, format="OGG", subtype="OPUS"))
put("audio", "mp3-libsndfile", 2, encode(np.repeat(x, 2), 8000, format="MP3", subtype="MPEG_LAYER_III"))
put("audio", "mp3-real-head", 2, (bundle / "example-1.mp3").read_bytes()[:2400])
put("audio", "silence-wav", 1, encode(np.zeros(2000, dtype="float32"), 16000, format="WAV", subtype="PCM_16"))

# --- bundle: selector 0 = the manifest; k = the k-th model file in name order (1 heads.safetensors)
put("bundle", "manifest", 0, (bundle / "manifest.json").read_bytes())
put("bundle", "heads", 1, (bundle / "heads.safetensors").read_bytes())


# --- tables: 0 npy, 1 comma, 2 tab, 3 semicolon, 4 whitespace rows, 5 reports CSV NUL npy / JSON config
def npy(a):
    b = io.BytesIO()
    np.save(b, np.asarray(a, dtype="<f4"))
    return b.getvalue()


put("tables", "npy", 0, npy(np.arange(12).reshape(3, 4) / 7))
put("tables", "npy-empty", 0, npy(np.zeros((0, 4))))
icbhi = data / "icbhi-annotations"
diag = (icbhi / "patient_diagnosis.csv").read_text().splitlines()[:6]
put("tables", "csv", 1, ("\n".join(diag) + "\n").encode())
put("tables", "tsv", 2, b"Patient ID\tAge\tMurmur\n1234\tChild\tPresent\n2530\tInfant\tAbsent\n")
put("tables", "semicolon", 3, b"id;status;age\n1;positive;40\n2;negative;\n")
ann = (icbhi / "audio_and_txt_files" / "101_1b1_Al_sc_Meditron.txt").read_text().splitlines()[:4]
put("tables", "annotations", 4, ("\n".join(ann) + "\n").encode())
reports = "audio_path,meta_report,report,writer,dataset,record_id\n" + "".join(
    f'raw/{i}.mp3,"COVID-19: Positive","An induced cough from a person who has COVID-19.",template-v1:seed=0,covid19-cough,{i}\n'
    for i in range(3)
)
put("tables", "reports", 5, reports.encode() + b"\0" + npy(np.ones((3, 4))))
put("tables", "config", 5, json.dumps({"sample_rate": 16000, "n_mels": 64}).encode())

# --- datasets: selector = layout (0 covid19-cough, 1 coswara, 2 ICBHI Kaggle, 3 ICBHI official,
# 4 COUGHVID, 5 UK COVID-19, 6 CirCor, 7 Respiratory@TR, 8 KAUH file name); parts split at NUL
meta = json.loads((data / "covid19-cough" / "metadata.json").read_text())[:2]
meta[0]["filename"] = "a.mp3"
put("datasets", "covid19-cough", 0, json.dumps(meta).encode())
cos = (data / "coswara-metadata" / "combined_data.csv").read_text().splitlines()[:4]
put("datasets", "coswara", 1, ("\n".join(cos) + "\n").encode())
demo = (icbhi / "demographic_info.txt").read_text().splitlines()[:3]
kaggle = ["\n".join(diag) + "\n", "\n".join(ann) + "\n", "\n".join(demo) + "\n"]
put("datasets", "icbhi-kaggle", 2, "\0".join(kaggle).encode())
official = [
    "".join(line.replace(",", "\t") + "\n" for line in diag[1:]),
    "\n".join(ann) + "\n",
    "\n".join(demo) + "\n",
    "101_1b1_Al_sc_Meditron\ttrain\n",
]
put("datasets", "icbhi-official", 3, "\0".join(official).encode())
put("datasets", "coughvid", 4, (
    "uuid,datetime,cough_detected,SNR,latitude,longitude,age,gender,respiratory_condition,"
    "fever_muscle_pain,status\naaa,2020-04-13,0.96,10,,,15,male,False,False,healthy\n"
).encode())
put("datasets", "ukcovid", 5, "\0".join([
    "participant_identifier,age,gender,smoker_status,covid_test_result\np1,45-54,Male,Never smoked,Positive\n",
    "participant_identifier,exhalation_file_name,cough_file_name\np1,p1_exh.wav,p1_cough.wav\n",
    "participant_identifier,splits,naive_splits\np1,train,train\n",
]).encode())
circor_header = (
    "Patient ID,Recording locations:,Age,Sex,Height,Weight,Pregnancy status,Murmur,Murmur locations,"
    "Most audible location,Systolic murmur timing,Systolic murmur shape,Systolic murmur grading,"
    "Systolic murmur pitch,Systolic murmur quality,Diastolic murmur timing,Diastolic murmur shape,"
    "Diastolic murmur grading,Diastolic murmur pitch,Diastolic murmur quality,Outcome,Campaign,Additional ID"
)
put("datasets", "circor", 6, "\0".join([
    circor_header + "\n1234,AV,Child,Female,123.0,13.5,False,Present,AV,AV,Holosystolic,Diamond,"
    "III/VI,High,Harsh,nan,nan,nan,nan,nan,Abnormal,CC2014,nan\n",
    "1234 1 4000\nAV 1234_AV.hea 1234_AV.wav 1234_AV.tsv\n#Age: Child\n#Murmur: Present\n#Outcome: Abnormal\n",
    "0\t0.1\t0\n0.1\t0.2\t1\n0.2\t0.45\t2\n",
]).encode())
put("datasets", "resp-tr", 7, b"Patient ID,Diagnosis,\nH001,COPD4,\n")
put("datasets", "kauh", 8, b"BP10_Asthma,E W,P R U,59,M")
print("seeds written to", seeds)
