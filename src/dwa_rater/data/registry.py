"""The registry of reference-data sources: where each publisher's file lives, and how to check it.

Each :class:`Source` names the publisher's files (:class:`RemoteFile`: URL, the folder it lands
in under the data directory, and, where the publisher's bytes are fixed, their size and
SHA-256), the converter that turns them into the tables the tool reads, their licence and
citation, and what the tool uses them for. ``docs/data.md`` is the user-facing account of the
same registry.

Raw GitHub URLs name a commit, so their bytes never change: those files are pinned. Files that a
publisher replaces in place (the O*NET text release zip) or whose bytes we have not seen (Webb's
Stata files) carry no pin; their size and SHA-256 are recorded on first download (see
:mod:`dwa_rater.data.manifest`) and checked from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from dwa_rater.errors import ConfigError


@dataclass(frozen=True)
class RemoteFile:
    """One file as its publisher serves it.

    ``folder`` is the folder under the data directory where it lands (POSIX, relative), under
    its original file name (the last segment of the URL path, percent-decoded). ``size`` (bytes)
    and ``sha256`` are None when the publisher's bytes are not fixed.
    """

    url: str
    folder: str
    size: int | None = None
    sha256: str | None = None

    @property
    def file_name(self) -> str:
        return unquote(PurePosixPath(urlsplit(self.url).path).name)

    @property
    def relative_path(self) -> str:
        return f"{self.folder}/{self.file_name}"

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


@dataclass(frozen=True)
class Source:
    """One data source: the publisher's files, the tables converted from them, and its terms.

    ``outputs`` are the converted tables' paths relative to the data directory (empty when the
    tool reads the publisher's files as they are; a converter may leave out an optional one,
    such as ``Task Ratings.txt`` of a release without it); ``converter`` names a function in
    :data:`dwa_rater.data.converters.CONVERTERS`. ``requires`` lists sources whose files the
    converter also reads (fetched first).
    """

    name: str
    title: str
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str
    used_for: str
    outputs: tuple[str, ...] = ()
    converter: str | None = None
    requires: tuple[str, ...] = ()
    attribution: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pinned(self) -> bool:
        """True when every file of the source has a pinned size and SHA-256."""
        return all(remote.pinned for remote in self.files)

    @property
    def size(self) -> int | None:
        """Total bytes of the publisher's files, None when some size is not pinned."""
        sizes = [remote.size for remote in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


def _github(repository: str, commit: str, path: str) -> str:
    """The raw URL of ``path`` (already percent-encoded) in ``repository`` at ``commit``."""
    return f"https://raw.githubusercontent.com/{repository}/{commit}/{path}"


ONET_ATTRIBUTION = (
    "This product includes information from the O*NET 30.1 Database by the U.S. Department of "
    "Labor, Employment and Training Administration (USDOL/ETA). Used under the CC BY 4.0 "
    "license. O*NET® is a trademark of USDOL/ETA."
)

#: The tables the tool reads from the O*NET text release, extracted from the zip into ``onet/``.
ONET_TABLE_FILES: tuple[str, ...] = (
    "Content Model Reference.txt",
    "DWA Reference.txt",
    "IWA Reference.txt",
    "Occupation Data.txt",
    "Read Me.txt",
    "Scales Reference.txt",
    "Task Categories.txt",
    "Task Ratings.txt",
    "Task Statements.txt",
    "Tasks to DWAs.txt",
)

_ELOUNDOU = ("openai/GPTs-are-GPTs", "0471612fef3cc22b74fb884d27bff9dbd3770582")
_FELTEN = ("AIOE-Data/AIOE", "adca5fc2cd0e9a659ff05278b7fa7a53f4f324c1")
_DINGEL = ("jdingel/DingelNeiman-workathome", "3ebab4f646ed45b01162ecd7794f00a518932c53")
_DEMIREV = ("demirev/ai-products", "bd4a5f136c14262a56fe20393da8d9657cbf68a9")
_MICROSOFT = ("microsoft/working-with-ai", "84c4ebacaa39d1c11e26e16c2f2c98aa89a11834")
_ILO_2025 = ("pgmyrek/2025_GenAI_scores_ISCO08", "6601522d6f3d670ce648eaaea7f68df8e509548c")
_LIU = ("liamchingliu/AutomationAging", "c17ea7fcf0609457af1a51e5a2a14a1f437758dd")
_NESTA = ("nestauk/mapping-career-causeways", "cb8c57a2c4a0ab40a2bba4eca6664601bcc24cad")
_WRIGHT_2010 = ("theodorewright11/aei_data_analysis", "acc374671673f0a574de392ba5e5d67fa86cb3f0")
_WRIGHT_TASKS = ("theodorewright11/aei_data_analysis", "028ed65b46e35707e57ffb8691625aed4a4c80b5")

_MS_FOLDER = "exposure/microsoft_working_with_ai"
_ILO_FOLDER = "exposure/ilo_gmyrek"
_NESTA_RISK = "supplementary_online_data/automation_risk"

SOURCES: tuple[Source, ...] = (
    Source(
        name="onet",
        title="O*NET 30.1 database, text release (December 2025), including Task Ratings",
        files=(
            RemoteFile("https://www.onetcenter.org/dl_files/database/db_30_1_text.zip", "onet"),
        ),
        licence="CC BY 4.0",
        citation="O*NET 30.1 Database, U.S. Department of Labor, Employment and Training "
        "Administration (USDOL/ETA)",
        used_for="the DWAs and tasks to rate; task-DWA links, task types and importance "
        "weights for occupation scores",
        outputs=tuple(f"onet/{name}" for name in ONET_TABLE_FILES),
        converter="onet_text_release",
        attribution=ONET_ATTRIBUTION,
        notes=(
            "O*NET replaces release files in place, so the zip's size and SHA-256 are recorded "
            "on first download and checked from then on.",
        ),
    ),
    Source(
        name="onet-task-summary",
        title="O*NET 29.3 task ratings summary (importance, relevance, frequency per task)",
        files=(
            RemoteFile(
                _github(*_WRIGHT_TASKS, "scripts/task_level_with_freq_importance_relevance.csv"),
                "onet/supplementary",
                4_106_945,
                "ca8980e87ce76e17e82504d5fd1140f5e92c1a648da0703d146fa1417dde8086",
            ),
        ),
        licence="CC BY 4.0 (O*NET data; the repository states no licence)",
        citation="O*NET 29.3 Database (USDOL/ETA), summarised in "
        "theodorewright11/aei_data_analysis",
        used_for="importance weights when the O*NET release has no Task Ratings.txt",
        outputs=("onet/supplementary/task_ratings_summary_onet29.3.csv",),
        converter="copy_task_summary",
        attribution=ONET_ATTRIBUTION.replace("30.1", "29.3"),
    ),
    Source(
        name="dingel-neiman",
        title="Dingel & Neiman (2020) teleworkability of occupations",
        files=(
            RemoteFile(
                _github(*_DINGEL, "occ_onet_scores/output/occupations_workathome.csv"),
                "telework",
                45_011,
                "42ff3ae084478b554526671710b53a16d39f88c3eebb24f56f46372d7243bd40",
            ),
            RemoteFile(
                _github(*_DINGEL, "onet_to_BLS_crosswalk/output/onet_teleworkable_blscodes.csv"),
                "telework",
                35_438,
                "bcfacfdcbb45ebe8261a98e0e87426c05f50aa5c0298a80cf18bc1acd03e67d4",
            ),
        ),
        licence="GPL-3.0 (repository); includes O*NET (CC BY 4.0) and BLS (public domain) data",
        citation="Dingel, J. I. and Neiman, B. (2020), How Many Jobs Can be Done at Home?, "
        "Journal of Public Economics 189",
        used_for="the remote-work index; comparison with published measures",
    ),
    Source(
        name="felten-aioe",
        title="Felten, Raj & Seamans (2021) AI Occupational Exposure (AIOE), data appendix",
        files=(
            RemoteFile(
                _github(*_FELTEN, "AIOE_DataAppendix.xlsx"),
                "exposure/felten_aioe",
                170_359,
                "c123b4c64840aff3568ae6c97256678719b88a74d45b6362dbefb5af34667b95",
            ),
        ),
        licence="none stated (the repository asks users to cite the paper)",
        citation="Felten, E., Raj, M., Seamans, R. (2021), Occupational, industry, and "
        "geographic exposure to artificial intelligence, Strategic Management Journal 42(12)",
        used_for="comparison with published measures (AIOE by SOC 2010)",
        outputs=(
            "exposure/felten_aioe/aioe_by_soc.csv",
            "exposure/felten_aioe/ability_level_ai_exposure.csv",
            "exposure/felten_aioe/application_ability_matrix.csv",
        ),
        converter="felten_appendix",
    ),
    Source(
        name="felten-lm-aioe",
        title="Felten, Raj & Seamans (2023) language-modelling and image-generation AIOE",
        files=(
            RemoteFile(
                _github(*_FELTEN, "Language%20Modeling%20AIOE%20and%20AIIE.xlsx"),
                "exposure/felten_aioe",
                55_714,
                "ccdd1fb916dfa404914367eafde7c00b7148ea86f18fe616240bc85cf6131c8b",
            ),
            RemoteFile(
                _github(*_FELTEN, "Image%20Generation%20AIOE%20and%20AIIE.xlsx"),
                "exposure/felten_aioe",
                55_523,
                "62c310544a6c1181037484b4c4017443c8d32661a0bdd482967a108aa224f5f7",
            ),
        ),
        licence="none stated (the repository asks users to cite the papers)",
        citation="Felten, E., Raj, M., Seamans, R. (2023), How will Language Modelers like "
        "ChatGPT Affect Occupations and Industries?",
        used_for="comparison with published measures (LM-AIOE by SOC 2010)",
        outputs=(
            "exposure/felten_aioe/lm_aioe_by_soc.csv",
            "exposure/felten_aioe/ig_aioe_by_soc.csv",
        ),
        converter="felten_generative",
    ),
    Source(
        name="webb",
        title="Webb (2020) AI, software and robot exposure (third-party copy of the replication "
        "files)",
        files=(
            RemoteFile(_github(*_DEMIREV, "data/webb/final_df_out.dta"), "exposure/webb2020"),
            RemoteFile(_github(*_DEMIREV, "data/webb/onet_to_occ1990dd.dta"), "exposure/webb2020"),
            RemoteFile(
                _github(*_DEMIREV, "data/webb/exposure_by_occ1990dd_lswt2010.csv"),
                "exposure/webb2020",
                21_263,
                "c5652fd3f862948cb77d87f38aa8296137c51e028992ab54e57246a066e0a779",
            ),
        ),
        licence="none stated",
        citation="Webb, M. (2020), The Impact of Artificial Intelligence on the Labor Market, "
        "Stanford working paper",
        used_for="comparison with published measures (AI exposure by O*NET-SOC 2010)",
        outputs=(
            "exposure/webb2020/webb_scores_by_onetsoc2010.csv",
            "exposure/webb2020/onetsoc2010_to_occ1990dd.csv",
        ),
        converter="webb_stata",
        notes=("The Stata files' size and SHA-256 are recorded on first download (not pinned).",),
    ),
    Source(
        name="microsoft-working-with-ai",
        title='Tomlinson et al. (2025) Microsoft "Working with AI" applicability scores',
        files=tuple(
            RemoteFile(_github(*_MICROSOFT, name), _MS_FOLDER, size, digest)
            for name, size, digest in (
                (
                    "iwa_metrics.csv",
                    72_575,
                    "524f718dba31c987f0d04b55d81fac84f95533a143dfb780e04e63fb831abcf2",
                ),
                (
                    "soc_ai_applicability_scores.csv",
                    49_995,
                    "2a077dbe90ff377813adac04b2acef6aee51c4b13505a4760ea84ca3efc9039a",
                ),
                (
                    "soc_metrics.csv",
                    183_429,
                    "111390f0a0d60e287dfa694b299d144f88eaebf2c4c41e910ae258f17d364a04",
                ),
                (
                    "soc_iwa_weights.csv",
                    1_238_819,
                    "f6467d16e4af622eca06ce07b3d9b12519998ca9504743e7f08c629592771891",
                ),
                (
                    "soc_to_iwas.csv",
                    301_369,
                    "917d7f998c1cda9f8e36495b14ffb8bdbcaecf528f85b23b2cd7f16fabadd668",
                ),
                (
                    "LICENSE.txt",
                    214,
                    "7482bb7c074d6d966bb94e54f3393f089d576e8be9dc9e92e239a40a56df8a41",
                ),
                (
                    "NOTICE.md",
                    855,
                    "5bd3f57af189553c8d7f287a7d5542e55a758d2eceb36f79834db1fa96ae67d3",
                ),
            )
        ),
        licence="CC BY 4.0",
        citation="Tomlinson, K., Jaffe, S., Wang, W., Counts, S., Suri, S. (2025), Working with "
        "AI: Measuring the Occupational Implications of Generative AI, arXiv 2507.07935",
        used_for="comparison with published measures (AI applicability by SOC 2018)",
    ),
    Source(
        name="ilo-2023",
        title="Gmyrek, Berg & Bescond (2023) ILO WP 96 ISCO-08 4-digit exposure scores",
        files=(
            RemoteFile(
                _github(*_LIU, "Gmyrek_Berg_Bescond%20-%20ISCO%204digit%20scores.csv"),
                _ILO_FOLDER,
                59_815,
                "e83a981eb40d01d3379884f39e47661c6ea8493669f352c58a053621d51c672d",
            ),
        ),
        licence="none stated (a third party's transcription of the ILO annex)",
        citation="Gmyrek, P., Berg, J., Bescond, D. (2023), Generative AI and Jobs: A global "
        "analysis of potential effects on job quantity and quality, ILO Working Paper 96",
        used_for="comparison with published measures (ISCO-08 4-digit)",
        outputs=(f"{_ILO_FOLDER}/gmyrek_berg_bescond_2023_isco4digit.csv",),
        converter="copy_ilo_2023",
    ),
    Source(
        name="ilo-2025",
        title="Gmyrek et al. (2025) ILO WP 140 task-level scores (2023 and 2025), ISCO-08",
        files=(
            RemoteFile(
                _github(*_ILO_2025, "Final_Scores_ISCO08_Gmyrek_et_al_2025.xlsx"),
                _ILO_FOLDER,
                2_599_607,
                "e0a3fe8fd6db95c5bfddc909d13c0ae998a59d004392d005d2c9eb71b6123e13",
            ),
        ),
        licence="none stated",
        citation="Gmyrek, P. et al. (2025), Generative AI and Jobs: A Refined Global Index of "
        "Occupational Exposure, ILO Working Paper 140, doi 10.54394/HETP0387",
        used_for="task-level ILO scores for comparison (the ilo rubric follows this method)",
        outputs=(f"{_ILO_FOLDER}/task_scores_isco08_2023_2025.csv",),
        converter="ilo_2025_tasks",
    ),
    Source(
        name="crosswalks",
        title="BLS ISCO-08/SOC 2010 and SOC 2010/2018 crosswalks, O*NET-SOC 2010/2019 crosswalk, "
        "and the derived O*NET-SOC 2019 to ISCO-08 chain",
        files=(
            RemoteFile(
                _github(*_LIU, "isco_soc_crosswalk.xls"),
                "crosswalks",
                311_296,
                "0426811b8c6a321bb2e902da4325b86d07174d1700cf79d6be4743c0784e6e73",
            ),
            RemoteFile(
                _github(*_DEMIREV, "data/soc_crosswalk/soc_2010_to_2018_crosswalk.xlsx"),
                "crosswalks",
                46_630,
                "f3a847561562d3e5a30eb848f2902a5f7b02e9c48b3d7f2cc8879899fbc242a7",
            ),
            RemoteFile(
                _github(*_WRIGHT_2010, "data/2010_to_2019_soc_crosswalk.csv"),
                "crosswalks",
                108_052,
                "8f026a33134bfde5770308d1c6117cf70d9dd41c2b3467e6dd271d65bdeecc5a",
            ),
        ),
        licence="BLS: public domain; O*NET crosswalk: CC BY 4.0; the derived chain: CC BY 4.0 "
        "(modified O*NET data)",
        citation="U.S. Bureau of Labor Statistics, ISCO-08 to 2010 SOC crosswalk (2012, updated "
        "2015) and 2010 to 2018 SOC crosswalk (2017); O*NET-SOC 2010 to 2019 crosswalk (USDOL/ETA)",
        used_for="mapping occupation scores to the code systems of the published measures",
        outputs=(
            "crosswalks/bls_isco08_soc2010.csv",
            "crosswalks/bls_soc2010_soc2018.csv",
            "crosswalks/onetsoc2010_to_onetsoc2019.csv",
            "crosswalks/derived_onetsoc2019_to_isco08.csv",
        ),
        converter="crosswalks",
        requires=("onet",),
        attribution=ONET_ATTRIBUTION
        + " Modified by the dwa_rater project. USDOL/ETA has not approved, endorsed, or tested "
        "these modifications.",
    ),
    Source(
        name="nesta-career-causeways",
        title="Nesta Mapping Career Causeways: ESCO-O*NET crosswalk and automation risk",
        files=(
            RemoteFile(
                _github(
                    *_NESTA,
                    "supplementary_online_data/ONET_ESCO_crosswalk/esco_onet_crosswalk_Nov2020.csv",
                ),
                "crosswalks",
                350_505,
                "b9a1ec484c99f282a3124f99678b8b39e847b3b7689410bb6d6b51807bd9d534",
            ),
            RemoteFile(
                _github(*_NESTA, f"{_NESTA_RISK}/mcc_risk_DWAs.csv"),
                "exposure/nesta_mcc_sml",
                309_256,
                "cf0fecf61c0bb119618d865c06564c6b0557e4db10e2d347b9e7496684ff2184",
            ),
            RemoteFile(
                _github(*_NESTA, f"{_NESTA_RISK}/mcc_risk_ISCO_4digit.csv"),
                "exposure/nesta_mcc_sml",
                26_634,
                "61cffaf861b245f0a6d1dff1dc4c14431a2112465a3b38776b6c5ac739fcaf65",
            ),
            RemoteFile(
                _github(*_NESTA, "LICENSE"),
                "exposure/nesta_mcc_sml",
                1_062,
                "9c1840b19ea91dcddb06ac6644b1c2725b369fdd571eceb5afba7f4d5e3244be",
            ),
        ),
        licence="MIT (Nesta)",
        citation="Kanders, K., Djumalieva, J., Sleeman, C., Orlik, J. (2020), Mapping Career "
        "Causeways, Nesta",
        used_for="an ESCO route from ISCO-08 to O*NET-SOC; DWA-level automation risk for "
        "comparison",
        outputs=(
            "crosswalks/nesta_esco_onet_crosswalk_Nov2020.csv",
            "exposure/nesta_mcc_sml/LICENSE-nesta-MIT.txt",
        ),
        converter="copy_nesta",
    ),
    Source(
        name="eloundou-2023",
        title="Eloundou, Manning, Mishkin & Rock (2023) GPTs are GPTs: task labels and "
        "occupation scores",
        files=(
            RemoteFile(
                _github(*_ELOUNDOU, "data/full_labelset.tsv"),
                "exposure/eloundou_2023",
                3_893_248,
                "094378905e1f3349e50a9a83dc69643a2ef227954d611c8316a46da08cb3d8de",
            ),
            RemoteFile(
                _github(*_ELOUNDOU, "data/occ_level.csv"),
                "exposure/eloundou_2023",
                126_022,
                "40c74f53de40aec91c0017d80690cbba915f83a8bb414bcf2f884692f1749acb",
            ),
        ),
        licence="MIT",
        citation="Eloundou, T., Manning, S., Mishkin, P., Rock, D. (2024), GPTs are GPTs: Labor "
        "market impact potential of LLMs, Science 384(6702)",
        used_for="human and GPT-4 E0/E1/E2 labels on O*NET tasks: a reference rater for "
        "agreement and calibration; published occupation alpha/beta/gamma",
    ),
)

_BY_NAME: dict[str, Source] = {source.name: source for source in SOURCES}


def source_names() -> list[str]:
    """The registered source names, in registry order."""
    return [source.name for source in SOURCES]


def get_source(name: str) -> Source:
    """The source called ``name``; a ``ConfigError`` listing the known names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(
            f"unknown data source {name!r}; known sources: {', '.join(source_names())}"
        ) from None


def with_requirements(names: list[str]) -> list[Source]:
    """The named sources and the sources they require, each once, requirements first."""
    ordered: list[Source] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        source = get_source(name)
        for required in source.requires:
            visit(required)
        ordered.append(source)

    for name in names:
        visit(name)
    return ordered
