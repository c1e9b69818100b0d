"""A labelled set of reply pairs for the same-answer detector (built for it, by rule).

Ten kinds of complaint, four citizens' questions each, written as citizens write them.
Each pair is two (question, reply) and whether a supervisor should see it flagged:

- flagged: one generic "formality" text sent to questions of different kinds; a kind's
  canned response sent to a question of another kind; the same with a sentence added or
  the status block appended;
- not flagged: a kind's canned response (its placeholders filled) to two questions of
  that kind; replies written for each question.

The kind is the ticket's category; in one pair of four the tickets have none, and the
detector can only compare the questions' words.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace

QUESTIONS: dict[str, list[str]] = {
    "obat": [
        "Paket obat isoman untuk ibu saya belum diantar sejak kemarin pagi, padahal dijanjikan.",
        "Saya positif dan isolasi mandiri, obat dari puskesmas belum sampai sampai hari ketiga.",
        "Kurir obat isoman tidak datang, nomor kurirnya juga tidak bisa dihubungi.",
        "Obat yang diantar kurang, vitamin dan parasetamol tidak ada di paket isoman.",
    ],
    "jaringan": [
        "Internet di rumah mati total dari semalam, lampu LOS di modem berkedip merah.",
        "Sinyal telepon hilang di seluruh perumahan sejak hujan deras tadi sore.",
        "Koneksi putus-nyambung terus tiap malam, tidak bisa kerja dari rumah.",
        "Kabel jaringan di tiang depan rumah putus ditabrak truk, layanan mati.",
    ],
    "tagihan": [
        "Tagihan bulan ini naik tiga kali lipat padahal pemakaian saya sama saja.",
        "Saya sudah bayar tapi tagihan masih muncul sebagai tunggakan dan ada denda.",
        "Ada biaya tambahan yang tidak pernah saya minta di rincian tagihan.",
        "Pembayaran lewat bank terpotong dua kali untuk satu tagihan yang sama.",
    ],
    "jalan": [
        "Jalan di depan sekolah berlubang besar, sudah ada motor yang jatuh dua kali.",
        "Aspal jalan utama kampung rusak parah dan tergenang air setiap hujan.",
        "Lubang galian pipa di pinggir jalan dibiarkan terbuka tanpa tanda peringatan.",
        "Jembatan kecil menuju pasar retak dan mulai miring, warga takut lewat.",
    ],
    "sampah": [
        "Sampah di TPS dekat pasar tidak diangkut seminggu, baunya sampai ke rumah warga.",
        "Truk sampah tidak lewat lagi di gang kami sejak awal bulan.",
        "Ada pembuangan sampah liar di lahan kosong samping musala.",
        "Petugas sampah minta uang tambahan setiap kali mengangkut sampah rumah tangga.",
    ],
    "air": [
        "Air PAM tidak mengalir sama sekali sejak tiga hari di blok kami.",
        "Air yang keluar dari keran keruh kecokelatan dan berbau besi.",
        "Tekanan air sangat kecil, hanya menetes pada pagi dan sore hari.",
        "Pipa air bocor di depan rumah, air terbuang ke jalan sejak minggu lalu.",
    ],
    "listrik": [
        "Listrik padam bergilir tanpa pemberitahuan, kulkas dan obat insulin saya rusak.",
        "Lampu penerangan jalan di kompleks mati semua sejak dua minggu.",
        "Meteran listrik prabayar error, token sudah diisi tapi tidak masuk.",
        "Tiang listrik miring hampir roboh setelah angin kencang kemarin.",
    ],
    "rekam": [
        "Saya minta salinan rekam medis ayah saya tapi diminta kembali minggu depan terus.",
        "Hasil laboratorium saya tertukar dengan pasien lain di rumah sakit daerah.",
        "Data diagnosa di rekam medis saya salah dan memengaruhi klaim asuransi.",
        "Rumah sakit menolak memberikan ringkasan pulang setelah anak saya dirawat.",
    ],
    "bpjs": [
        "Kartu BPJS saya tiba-tiba nonaktif padahal iuran selalu dibayar tepat waktu.",
        "Faskes tingkat pertama saya dipindah tanpa persetujuan ke klinik yang jauh.",
        "Rumah sakit meminta biaya tambahan padahal saya peserta BPJS kelas tiga.",
        "Pengajuan pindah kelas BPJS saya belum diproses sudah dua bulan.",
    ],
    "ktp": [
        "KTP elektronik saya belum jadi sudah enam bulan sejak perekaman.",
        "Petugas kelurahan meminta biaya untuk pengurusan kartu keluarga.",
        "Nama saya salah ketik di akta kelahiran dan perbaikannya dipersulit.",
        "Antrean di dukcapil sangat panjang dan sistem antrean daring selalu penuh.",
    ],
}

CANNED: dict[str, str] = {
    "obat": "Yth. {name}, pengaduan {number} tentang paket obat isoman sudah kami teruskan ke "
    "puskesmas dan kurir. Paket dijadwalkan ulang hari ini; jika belum sampai pukul 17.00, "
    "balas pesan ini.",
    "jaringan": "Yth. {name}, gangguan jaringan pada pengaduan {number} sudah kami laporkan ke "
    "tim teknis wilayah. Teknisi akan memeriksa perangkat dan kabel di lokasi Anda.",
    "tagihan": "Yth. {name}, untuk pengaduan {number} kami sedang memeriksa rincian tagihan dan "
    "riwayat pembayaran Anda. Selisih yang terbukti akan dikoreksi pada tagihan berikutnya.",
    "jalan": "Yth. {name}, kerusakan jalan pada pengaduan {number} sudah kami teruskan ke Dinas "
    "PUPR. Tim akan memasang tanda bahaya dan menjadwalkan perbaikan.",
    "sampah": "Yth. {name}, pengaduan {number} soal pengangkutan sampah sudah kami sampaikan ke "
    "Dinas Lingkungan Hidup. Armada akan dijadwalkan ke lokasi Anda.",
    "air": "Yth. {name}, pengaduan {number} tentang layanan air sudah diteruskan ke PDAM. "
    "Petugas akan memeriksa jaringan pipa dan kualitas air di wilayah Anda.",
    "listrik": "Yth. {name}, gangguan listrik pada pengaduan {number} sudah kami teruskan ke "
    "unit layanan pelanggan. Petugas akan menindaklanjuti di lokasi.",
    "rekam": "Yth. {name}, permintaan terkait rekam medis pada pengaduan {number} sudah kami "
    "teruskan ke bagian rekam medis rumah sakit untuk diverifikasi.",
    "bpjs": "Yth. {name}, pengaduan {number} tentang kepesertaan BPJS sedang kami konfirmasi ke "
    "kantor cabang BPJS Kesehatan. Mohon siapkan nomor kartu untuk verifikasi lewat pesan pribadi.",
    "ktp": "Yth. {name}, pengaduan {number} tentang layanan kependudukan sudah kami teruskan ke "
    "Dinas Dukcapil untuk ditindaklanjuti.",
}

GENERIC = [
    "Terima kasih atas laporan Anda. Laporan Anda akan kami tindak lanjuti sesuai prosedur "
    "yang berlaku. Mohon ditunggu.",
    "Terima kasih telah menghubungi kami. Keluhan Anda sudah kami terima dan akan segera "
    "diproses oleh petugas terkait.",
    "Mohon maaf atas ketidaknyamanannya. Aduan Anda sedang dalam proses dan akan kami "
    "informasikan perkembangannya.",
]

# A reply written for each question (the same order as QUESTIONS).
WRITTEN: dict[str, list[str]] = {
    "obat": [
        "Kurir Pak Joko terlambat karena motor mogok; paket ibu Anda diantar ulang pukul 14.",
        "Puskesmas Cimanggis kehabisan stok kemarin; paket Anda dikirim dari puskesmas Beji.",
        "Kami sudah hubungi koordinator kurir, nomor baru kurir kami kirim lewat pesan pribadi.",
        "Vitamin dan parasetamol yang kurang akan diantar terpisah oleh apotek mitra sore ini.",
    ],
    "jaringan": [
        "Lampu LOS merah berarti kabel optik putus; teknisi datang besok antara pukul 9 dan 12.",
        "Menara di perumahan Anda tersambar petir; perbaikan perangkat butuh satu hari.",
        "Kami menemukan kepadatan trafik malam hari di area Anda; kapasitas ditambah pekan ini.",
        "Laporan kabel putus akibat truk kami teruskan ke tim kabel, perbaikan malam ini.",
    ],
    "tagihan": [
        "Ada lonjakan karena meter tidak terbaca dua bulan lalu; kami hitung ulang pemakaian.",
        "Pembayaran Anda masuk terlambat ke sistem karena gangguan bank; denda kami hapus.",
        "Biaya tambahan itu paket layanan yang aktif otomatis; sudah kami nonaktifkan.",
        "Potongan ganda dari bank akan dikembalikan dalam tujuh hari kerja.",
    ],
    "jalan": [
        "Lubang depan sekolah masuk prioritas; penambalan dijadwalkan Kamis pagi.",
        "Drainase di jalan utama kampung tersumbat; dinas akan mengeruk saluran dulu.",
        "Kontraktor galian pipa kami tegur dan wajib menutup lubang hari ini.",
        "Tim jembatan akan menilai struktur besok; sementara jembatan ditutup untuk kendaraan.",
    ],
    "sampah": [
        "Armada pasar rusak; truk cadangan mengangkut TPS pasar malam ini.",
        "Rute truk di gang Anda berubah karena jalan sempit; diganti gerobak motor mulai Senin.",
        "Satpol PP akan memasang papan larangan dan menindak pembuang sampah liar.",
        "Pungutan tambahan oleh petugas itu tidak resmi; kasusnya kami teruskan ke inspektorat.",
    ],
    "air": [
        "Pompa distribusi di blok Anda rusak; mobil tangki dikirim selama perbaikan.",
        "Air keruh karena pencucian reservoir; kualitas kembali normal dalam 24 jam.",
        "Tekanan rendah karena katup zona setengah tertutup; teknisi membukanya sore ini.",
        "Kebocoran pipa depan rumah Anda sudah masuk jadwal tim perbaikan besok pagi.",
    ],
    "listrik": [
        "Pemadaman kemarin karena gangguan gardu; untuk insulin rusak silakan ajukan ganti rugi.",
        "Lampu jalan kompleks mati karena panel kontrol terbakar; diganti minggu ini.",
        "Token yang tidak masuk bisa dimasukkan ulang dengan kode reset yang kami kirim pribadi.",
        "Tiang miring dinilai berbahaya; petugas datang hari ini untuk menegakkan tiang.",
    ],
    "rekam": [
        "Salinan rekam medis ayah Anda siap diambil Senin dengan surat kuasa.",
        "Rumah sakit mengakui hasil lab tertukar dan menjadwalkan pemeriksaan ulang gratis.",
        "Dokter penanggung jawab akan mengoreksi diagnosa dan menerbitkan surat keterangan.",
        "Ringkasan pulang anak Anda wajib diberikan; rumah sakit diminta menyerahkannya besok.",
    ],
    "bpjs": [
        "Kartu nonaktif karena data ganda; penggabungan data selesai dalam tiga hari.",
        "Perpindahan faskes dibatalkan dan dikembalikan ke klinik pilihan Anda.",
        "Biaya tambahan untuk kelas tiga tidak boleh; rumah sakit wajib mengembalikannya.",
        "Pengajuan pindah kelas tertahan karena dokumen KK; unggah ulang lewat aplikasi.",
    ],
    "ktp": [
        "Blangko KTP elektronik sudah tersedia; KTP Anda dicetak pekan ini.",
        "Pengurusan KK gratis; pungutan itu kami laporkan ke camat untuk ditindak.",
        "Perbaikan akta cukup dengan surat keterangan dari rumah sakit tempat lahir.",
        "Dukcapil menambah kuota antrean daring dan membuka layanan Sabtu.",
    ],
}

NAMES = ["Sari", "Budi Santoso", "Wulan", "Agus", "Dewi Lestari", "Rahmat", "Nur", "Joko"]
STATUS_BLOCK = (
    "\n\nStatus pengaduan {number}: Sedang ditangani\nLangkah berikut: Petugas sedang "
    "menindaklanjuti pengaduan Anda.\nDitangani oleh: Tim Pengaduan\n"
    "Batas waktu: 3 Des 2026 pukul 14.30 WIB"
)


@dataclass(frozen=True)
class Pair:
    question_a: str
    reply_a: str
    name_a: str
    question_b: str
    reply_b: str
    name_b: str
    flag: bool
    kind: str
    category_a: str | None = None
    category_b: str | None = None


def _number(rng: random.Random) -> str:
    code = "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(6))
    return f"ADU-2612-{code}"


def pairs(seed: int = 7) -> list[Pair]:
    rng = random.Random(seed)
    kinds = list(QUESTIONS)
    out: list[Pair] = []

    def fill(text: str, name: str) -> str:
        return text.format(name=name, number=_number(rng))

    def question(kind: str) -> tuple[int, str]:
        n = rng.randrange(4)
        return n, QUESTIONS[kind][n]

    different = [(a, b) for a, b in itertools.permutations(kinds, 2)]
    for a, b in rng.sample(different, 60):  # one generic text to different questions
        text = rng.choice(GENERIC)
        na, nb = rng.sample(NAMES, 2)
        out.append(Pair(question(a)[1], text, na, question(b)[1], text, nb, True, "generic"))
    for a, b in rng.sample(different, 30):  # a's canned response sent to b's question too
        na, nb = rng.sample(NAMES, 2)
        out.append(
            Pair(
                question(a)[1], fill(CANNED[a], na), na,
                question(b)[1], fill(CANNED[a], nb), nb, True, "canned-elsewhere",
            )
        )  # fmt: skip
    for a, b in rng.sample(different, 20):  # small edits and the status block
        text = rng.choice(GENERIC)
        na, nb = rng.sample(NAMES, 2)
        edited = text + " Terima kasih atas kesabaran Anda."
        out.append(
            Pair(
                question(a)[1], text + STATUS_BLOCK.format(number=_number(rng)), na,
                question(b)[1], edited, nb, True, "generic-edited",
            )
        )  # fmt: skip
    for kind in kinds:  # a kind's canned response to two of its questions
        for i, j in rng.sample(list(itertools.combinations(range(4), 2)), 4):
            na, nb = rng.sample(NAMES, 2)
            out.append(
                Pair(
                    QUESTIONS[kind][i], fill(CANNED[kind], na), na,
                    QUESTIONS[kind][j], fill(CANNED[kind], nb), nb, False, "canned-same-kind",
                )
            )  # fmt: skip
    written = [(k, n) for k in kinds for n in range(4)]
    for (ka, a), (kb, b) in rng.sample(list(itertools.combinations(written, 2)), 60):
        na, nb = rng.sample(NAMES, 2)
        out.append(
            Pair(
                QUESTIONS[ka][a], WRITTEN[ka][a], na,
                QUESTIONS[kb][b], WRITTEN[kb][b], nb, False, "written",
            )
        )  # fmt: skip
    for kind in rng.sample(kinds, 10):  # written replies to questions of the same kind
        i, j = rng.sample(range(4), 2)
        out.append(
            Pair(
                QUESTIONS[kind][i], WRITTEN[kind][i], "Sari",
                QUESTIONS[kind][j], WRITTEN[kind][j], "Agus", False, "written-same-kind",
            )
        )  # fmt: skip
    kind_of = {q: kind for kind, questions in QUESTIONS.items() for q in questions}
    return [
        replace(p, category_a=kind_of[p.question_a], category_b=kind_of[p.question_b])
        if n % 4
        else p  # uncategorised
        for n, p in enumerate(out)
    ]
