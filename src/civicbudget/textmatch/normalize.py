"""Text normalisation for matching: width, traditional characters, typos, numerals.

Everything here is a pure function of one string, computed once per proposal. The
traditional->simplified table is deliberately small (the characters that occur in
community proposals); unknown characters pass through unchanged, and the character
n-gram similarity downstream tolerates the rest.
"""

from __future__ import annotations

import re
import unicodedata

# Traditional -> simplified, one character each (pairs: traditional, simplified).
_TRAD = (
    "萬万與与東东兩两嚴严個个們们來来係系倆俩億亿價价儀仪優优會会傳传傷伤備备債债"
    "偉伟側侧偵侦偽伪僅仅僑侨償偿兒儿內内兩两冊册凈净凍冻減减別别剛刚劃划劇剧勁劲"
    "動动務务勞劳勢势勵励區区協协單单賣卖衛卫卻却廠厂厲厉參参雙双發发變变號号葉叶"
    "吳吴員员問问啟启喪丧喚唤嚴严囑嘱圍围國国圖图圓圆聖圣場场壞坏塊块堅坚報报墊垫"
    "壓压壘垒壩坝壯壮聲声處处備备復复夠够夢梦頭头夾夹奪夺奮奋婦妇媽妈嬰婴學学寧宁"
    "寶宝實实寵宠審审寫写將将專专尋寻對对導导屆届屬属層层歲岁島岛嶺岭帥帅師师帳帐"
    "帶带幫帮幹干廣广庫库廁厕廚厨廢废廳厅張张強强彈弹錄录徑径從从復复徵征戀恋恆恒"
    "悶闷惡恶惱恼態态憂忧憐怜應应懷怀戰战戶户拋抛據据掃扫掛挂換换揀拣損损搖摇搶抢"
    "撥拨擇择擊击擋挡擔担擠挤擴扩擺摆攝摄攤摊敗败敵敌數数齊齐斷断時时晉晋晝昼暫暂"
    "曆历書书會会極极構构槍枪樂乐樓楼標标樣样樹树橋桥機机檢检櫃柜權权歡欢歸归殘残"
    "毆殴氣气漢汉決决沒没沖冲淚泪淺浅滅灭湯汤溝沟滿满漏漏潔洁潛潜澤泽濕湿瀏浏灣湾"
    "燈灯災灾為为煙烟熱热燒烧爐炉爭争爺爷牆墙狀状猶犹獨独獎奖環环現现產产畫画當当"
    "療疗癢痒發发盜盗盞盏監监盤盘眾众睏困矯矫礙碍確确禮礼禍祸離离種种稅税穩稳窮穷"
    "竊窃競竞筆笔節节範范築筑簡简糞粪紀纪約约紅红級级納纳紙纸紛纷細细組组終终結结"
    "絕绝給给統统絲丝經经綠绿維维網网緊紧線线練练縣县總总績绩繩绳續续缺缺罰罚罷罢"
    "義义習习聯联聽听職职腦脑腳脚膽胆舉举舊旧艙舱華华萬万藝艺蘭兰處处號号蟲虫補补"
    "製制複复襪袜見见規规視视親亲覺觉觀观計计訂订認认討讨讓让訓训記记設设訪访許许"
    "證证評评詢询試试話话該该說说誰谁課课調调談谈請请諮谘講讲謝谢識识議议護护讀读"
    "變变讓让豐丰貝贝負负財财責责貨货貧贫購购貼贴費费資资賠赔賬账質质趕赶趙赵跡迹"
    "踐践躍跃車车軌轨軟软較较載载輛辆輕轻輪轮辦办農农邊边這这進进連连運运過过達达"
    "違违遠远適适遲迟選选遺遗還还鄉乡鄰邻醫医釋释針针鈴铃鉤钩銀银鋪铺錢钱錯错鍋锅"
    "鍵键鎖锁鐘钟鐵铁長长門门開开閒闲間间閱阅關关阿阿陣阵陰阴陸陆陽阳隊队階阶際际"
    "隨随險险隱隐雞鸡雖虽電电霧雾靜静面面韻韵響响項项順顺須须預预領领頻频顧顾風风"
    "飛飞飯饭飲饮飽饱館馆馬马駛驶騎骑驗验體体髮发鬆松鬥斗魚鱼鮮鲜鳥鸟鹹咸麗丽麼么"
    "黃黄點点黨党齡龄龍龙龜龟戲戏擾扰擁拥壽寿慶庆憶忆懸悬攜携攪搅敘叙斃毙樁桩槓杠"
    "歷历殼壳滬沪漁渔潤润濟济濱滨灑洒爛烂獲获瓊琼癡痴盡尽睜睁瞭了矚瞩硃朱礦矿祿禄"
    "稱称穌稣窩窝竄窜糧粮緣缘縮缩繫系纏缠罵骂羅罗脅胁腫肿膚肤臉脸臺台蔣蒋蕭萧蘇苏"
    "衝冲襯衬訊讯詞词詳详誤误誠诚誕诞誌志諧谐謀谋謊谎譜谱豬猪貓猫賓宾賴赖贊赞跡迹"
    "蹤踪軍军輔辅輸输辭辞邏逻郵邮醬酱釣钓鉛铅銷销鋼钢錦锦鍊链鏈链閃闪閘闸闆板闖闯"
    "陳陈隸隶雜杂雲云靈灵韓韩頁页頂顶頓顿頗颇頸颈顆颗額额顏颜願愿類类飢饥餅饼餐餐"
    "餘余駐驻駕驾驚惊騙骗鬧闹魯鲁鳳凤鹽盐麥麦齒齿劑剂勻匀啞哑噴喷嚇吓團团墳坟奧奥"
    "嬌娇屢屡嶼屿廟庙彎弯徹彻慮虑憑凭懶懒攔拦擬拟擬拟撿捡榮荣檔档櫥橱歐欧瀝沥燦灿"
    "爾尔牽牵琴琴瘋疯皺皱矽硅碼码磚砖禪禅窗窗竅窍籃篮紮扎絡络綁绑綜综綿绵緒绪緩缓"
    "緻致縫缝繞绕繳缴罈坛翹翘聳耸膠胶艱艰芻刍莊庄萊莱蓋盖蔭荫薦荐藥药蘋苹蝦虾螢萤"
    "褲裤觸触訴诉詐诈誇夸諾诺謹谨豎竖賀贺賺赚趨趋躉趸輩辈轉转辯辩遞递遷迁鄭郑醞酝"
    "鈕钮鉅巨銅铜鋁铝錶表鍾钟鏽锈閣阁闊阔陝陕隻只雇雇雛雏雞鸡靂雳韌韧頒颁頰颊飄飘"
    "饅馒驅驱骯肮髒脏鬍胡鬱郁鴨鸭鵝鹅鷹鹰麵面黴霉齣出鏟铲爲为裏里裡里秘秘峯峰綫线"
    "戶户穫获蕩荡燭烛搗捣撐撑擾扰擲掷攏拢攬揽樞枢橫横瞇眯癒愈壢坜兇凶捨舍嘆叹"
    "棟栋條条紡纺織织業业邊边廈厦闆板壇坛饑饥亞亚傑杰佔占啓启喚唤嗎吗圖图夥伙姊姊嬸婶寬宽層层帆帆幣币廂厢廊廊摟搂擴扩於于暈晕樸朴漲涨漿浆瀰弥燉炖犧牺瓏珑畢毕痺痹瘡疮盧卢睞睐碩硕穀谷筍笋篩筛糾纠紹绍綻绽緝缉縱纵繪绘罈坛聞闻膩腻蘆芦蝕蚀衹只裝装製制覽览訝讶詩诗誌志諒谅賽赛贈赠趙赵跤跤踴踊軀躯轄辖醜丑鈔钞鋸锯鏡镜闡阐隊队雋隽雙双霸霸韋韦頌颂頹颓颱台飼饲餵喂驢驴鬱郁鹼碱黴霉"
    "喫吃噸吨嚮向嚐尝牀床罈坛衆众羣群迴回鬨哄託托鼕冬癥症樑梁菸烟佈布併并"
)
_TRAD += (
    "並并園园幾几後后暢畅積积窪洼繕缮臨临買买題题藍蓝綠绿陽阳陰阴騷骚寬宽臟脏傘伞殺杀蒼苍蠅蝇"
    "準准鍛锻煉炼際际遊游溫温異异兇凶賊贼鳴鸣診诊測测孫孙託托涼凉淨净鎮镇欄栏籃篮颶飓滲渗澇涝"
    "亂乱攝摄鏡镜絡络腦脑網网鋪铺磚砖瀝沥補补築筑歡欢樂乐劇剧廳厅館馆閱阅覽览讀读鄉乡縣县階阶"
    "遞递資资災灾訓训颱台毒毒監监頭头蓋盖滅灭燈灯廢废啓启齊齐齡龄護护緊紧鬆松換换態态戲戏義义"
    "聯联體体險险罰罚竊窃搶抢響响聲声鐘钟飯饭務务療疗藥药醫医檢检驗验歲岁個个帶带學学課课輔辅"
    "導导麵面熱热潔洁隊队團团舉举辦办動动運运練练隨随這这邊边說说話话請请謝谢讓让認认識识應应"
    "該该還还從从無无與与為为來来過过時时間间問问點点線线電电視视號号碼码區区樓楼層层門门牆墙"
    "頂顶溝沟橋桥車车輪轮騎骑樁桩裝装壓压壞坏擠挤場场廁厕風风圍围專专雜杂處处農农貿贸攤摊銷销"
    "雙双劉刘楊杨陳陈黃黄吳吴鄭郑塊块鍋锅紀纪錄录寫写紙纸種种讓让夠够嗎吗麼么們们裡里鐵铁灣湾"
    "鄰邻將将對对擺摆輛辆鬧闹嚴严礙碍髒脏環环癢痒設设劃划爭争廣广蟲虫齒齿歷历壩坝閘闸氣气漲涨"
    "災灾險险"
)
TRAD_TO_SIMP: dict[str, str] = {_TRAD[i]: _TRAD[i + 1] for i in range(0, len(_TRAD) - 1, 2)}

# Homophone and near-form typos seen in resident writing: wrong -> right. Only
# multi-character forms, so that a correct text is never changed.
TYPOS: tuple[tuple[str, str], ...] = (
    ("电题", "电梯"),
    ("家装电梯", "加装电梯"),
    ("建意", "建议"),
    ("设区", "社区"),
    ("希往", "希望"),
    ("解绝", "解决"),
    ("老仁", "老人"),
    ("晚尚", "晚上"),
    ("厕锁", "厕所"),
    ("冲电", "充电"),
    ("危显", "危险"),
    ("活东", "活动"),
    ("孩了", "孩子"),
    ("须要", "需要"),
    ("路等", "路灯"),
    ("楼到灯", "楼道灯"),
    ("监空", "监控"),
    ("充点", "充电"),
    ("下水到", "下水道"),
    ("化粪赤", "化粪池"),
    ("健生", "健身"),
    ("公侧", "公厕"),
    ("维休", "维修"),
    ("按装", "安装"),
    ("因该", "应该"),
)

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip


def cn_number(s: str) -> int | None:
    """Value of a small Chinese numeral (一 .. 九十九), or None."""
    if not s or any(c not in _CN_DIGITS and c != "十" for c in s):
        return None
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = _CN_DIGITS.get(head, 0) if head else 1
        if head and head not in _CN_DIGITS:
            return None
        ones = _CN_DIGITS.get(tail, 0) if tail else 0
        if tail and (tail not in _CN_DIGITS or len(tail) > 1):
            return None
        return tens * 10 + ones
    if len(s) == 1:
        return _CN_DIGITS[s]
    return None


# A Chinese numeral right before a building, unit, floor or lane word becomes digits,
# so that 三号楼, 三栋, 3栋 and 3幢 all read 3栋 later on.
_NUM_BEFORE_UNIT = re.compile(
    r"(第?)([一二两三四五六七八九十]{1,3})(?=(?:号楼|号|栋|幢|座|单元|楼|层|巷|期|区))"
)
_SPACES = re.compile(r"[^\S\n]+")
_LINES = re.compile(r"\s*\n\s*")
_TAGS = re.compile(r"^[【\[(（][^】\])）]{1,12}[】\])）]")


def _digits(m: re.Match[str]) -> str:
    value = cn_number(m.group(2))
    return m.group(0) if value is None else str(value)


def to_simplified(text: str) -> str:
    """Map traditional characters to simplified ones (small table, pass-through)."""
    return "".join(TRAD_TO_SIMP.get(c, c) for c in text)


def normalize(text: str) -> str:
    """Canonical form of a proposal for matching.

    NFKC (full-width digits and letters), lower-case Latin, simplified characters,
    common typos fixed, a leading source tag such as 【网格员】 removed, Chinese
    numerals before 栋/号楼/单元/巷 turned into digits, whitespace collapsed.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = to_simplified(text).lower()
    for wrong, right in TYPOS:
        if wrong in text:
            text = text.replace(wrong, right)
    # line breaks stay (a message's first line is often its subject), other runs of
    # white space become one space
    text = _LINES.sub("\n", _SPACES.sub(" ", text)).strip()
    while True:
        stripped = _TAGS.sub("", text).strip()
        if stripped == text:
            break
        text = stripped
    text = _NUM_BEFORE_UNIT.sub(_digits, text)
    return text


_NOT_WORD = re.compile(r"[^\w]+")


def compact(text: str) -> str:
    """Normalised text without punctuation or spaces (for n-grams)."""
    return _NOT_WORD.sub("", normalize(text)).replace("_", "")
