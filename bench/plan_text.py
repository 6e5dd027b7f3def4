#!/usr/bin/env python3
"""Writes a synthetic plan document (责任分解方案) in the layout of
seed/plan-2018.txt, for timing imports: a masthead, a document number, an
issue date, then headings 一、 / （一） / 1. whose paragraphs are each
followed by a 责任领导： and a 责任单位： line.

usage: plan_text.py ASSIGNMENTS NUMBER UNITS_FILE LEADERS_FILE > plan.txt

ASSIGNMENTS is the number of responsibility blocks; NUMBER goes into the
document number (文号), so that each document is a new plan; the files hold
one unit or leader name a line (existing names are reused by the import;
about one block in fifty also names a unit the database has never seen).
The output is the same for the same arguments."""
import random
import sys

NUMERALS = "一二三四五六七八九"
SECTIONS = 10
SUBSECTIONS = 20
MAX_ITEMS = 99          # a level-3 outline has one or two digits

VERBS = ["推进", "落实", "完善", "加强", "深化", "健全", "实施", "开展", "巩固", "提升"]
TOPICS = ["产业扶贫", "就业帮扶", "教育保障", "医疗救助", "住房安全", "饮水安全", "兜底保障", "扶志扶智",
          "基础设施", "人居环境", "公共服务", "社会帮扶", "资金监管", "考核评估", "作风建设", "宣传引导"]
SENTENCES = ["全面排查建档立卡贫困人口信息，进一步完善扶贫档案和数据管理。",
             "对明显不符合扶贫标准的按规定剔除，严格复核脱贫成效和退出程序。",
             "建立统筹发展、共建共享、内外联动、市场引导的长效机制。",
             "以市场需求为导向，因地制宜培育发展特色产业。",
             "加强扶贫资金项目监管，全面公开扶贫资金分配和使用情况。",
             "开展常态化约谈，随时发现问题随时约谈。"]
DEADLINES = ["2019年底前完成。", "到2020年6月底前全部完成。", "每季度调度一次工作进展。",
             "本方案印发后3个月内完成。", "每年开展一次动态调整。"]


def numeral(n):
    """1..99 in Chinese numerals."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else NUMERALS[tens - 1] + "十"
    return head + ("" if ones == 0 else NUMERALS[ones - 1])


def read_names(path):
    with open(path, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        sys.exit(f"plan_text.py: no names in {path}")
    return names


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    total, number = int(sys.argv[1]), int(sys.argv[2])
    units, leaders = read_names(sys.argv[3]), read_names(sys.argv[4])
    items = -(-total // (SECTIONS * SUBSECTIONS))
    if items > MAX_ITEMS:
        sys.exit(f"plan_text.py: at most {SECTIONS * SUBSECTIONS * MAX_ITEMS} assignments")
    rnd = random.Random(number)
    out = []
    w = out.append
    w("中共青岛西海岸新区工委办公室文件\n")
    w(f"青西新办发〔2019〕{number}号\n")
    w("中共青岛西海岸新区工委办公室 青岛西海岸新区管委办公室 印发《〈关于巩固拓展脱贫攻坚成果的意见〉 责任分解方案》的通知\n")
    w("各镇党委和人民政府，各街道党工委和办事处，\n工委区委各部委，管委区政府各部门，区直及驻区各单位：\n")
    w("现将《〈关于巩固拓展脱贫攻坚成果的意见〉责任分解方案》印发给你们，请结合工作实际，认真抓好贯彻执行。\n")
    w("中共青岛西海岸新区工委办公室\n\n青岛西海岸新区管委办公室\n\n2019年3月1日\n")
    w("《关于巩固拓展脱贫攻坚成果的意见》 责任分解方案\n")
    w(f"为进一步贯彻落实《关于巩固拓展脱贫攻坚成果的意见》（青发〔2019〕{number}号）文件要求，"
      "现将目标任务细化分解至各级各部门各单位，请结合实际认真组织实施。\n")

    made = 0

    def block(text, first=False):
        nonlocal made
        made += 1
        names = rnd.sample(leaders, rnd.choice((1, 1, 2, 3)))
        chosen = rnd.sample(units, rnd.choice((1, 2, 3, 4)))
        if made % 50 == 0:
            chosen.append(f"区新设机构{made // 50}办")
        note = "。列在首位的为牵头单位（下同）。" if first else ""
        w(f"{text}\n")
        w(f"责任领导：{' '.join(names)}\n")
        w(f"责任单位：{'、'.join(chosen)}{note}\n")

    for s in range(1, SECTIONS + 1):
        if made >= total:
            break
        w(f"{numeral(s)}、{rnd.choice(VERBS)}{TOPICS[s % len(TOPICS)]}成果\n")
        for ss in range(1, SUBSECTIONS + 1):
            if made >= total:
                break
            w(f"（{numeral(ss)}）{rnd.choice(VERBS)}{TOPICS[(s * 3 + ss) % len(TOPICS)]}工作\n")
            for k in range(1, items + 1):
                if made >= total:
                    break
                n = made + 1
                text = f"{k}. {rnd.choice(VERBS)}{rnd.choice(TOPICS)}第{n}项任务。{rnd.choice(SENTENCES)}"
                if n % 4 == 0:
                    text += DEADLINES[n // 4 % len(DEADLINES)]
                block(text, first=made == 0)
                if n % 8 == 0 and made < total:     # a second paragraph: a level-4 task
                    block(rnd.choice(SENTENCES) + rnd.choice(SENTENCES))
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
